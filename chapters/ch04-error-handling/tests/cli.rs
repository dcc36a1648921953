//! The chapter binary as a reader runs it. Assertions are on its
//! `summary:` lines, not on the prose around them.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use tutorial_lab::{ChildProcess, test_cluster};
use tutorial_support::parse_summary;

fn step(output: &str, name: &str) -> BTreeMap<String, String> {
    parse_summary(output, name).unwrap_or_else(|| panic!("no `summary: {name}` in:\n{output}"))
}

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-error-handling"));
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .env("RUST_LOG", "warn,librdkafka=off");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(90));
    let output = child.transcript();
    assert!(status.success(), "{output}");

    let classify = step(&output, "classify");
    assert_eq!(classify["QueueFull"], "BackOff");
    assert_eq!(classify["AllBrokersDown"], "LibrdkafkaRetries");
    assert_eq!(classify["MessageTimedOut"], "RetriesExhausted");
    assert_eq!(classify["UnknownTopicOrPartition"], "FailFast");
    assert_eq!(classify["Fatal"], "Recreate");

    // ② with the defaults only a timeout; with a short propagation wait the real reason.
    let unknown = step(&output, "unknown-topic");
    assert_eq!(unknown["defaults_error"], "MessageTimedOut", "{output}");
    assert_eq!(unknown["defaults_strategy"], "RetriesExhausted");
    assert_eq!(unknown["propagation_2s_error"], "UnknownTopicOrPartition");
    assert_eq!(unknown["propagation_2s_strategy"], "FailFast");

    // ③ the records that are not numbers go to the dead-letter topic.
    let dead = step(&output, "dead-letters");
    assert_eq!(dead["processed"], "17", "{output}");
    assert_eq!(dead["dead_lettered"], "3,10,17", "{output}");

    // ④ flaky-1 succeeds on its second attempt; poison-5 and down-3 are dead letters.
    let retry = step(&output, "retry-topic");
    assert_eq!(retry["processed"], "5", "{output}");
    assert_eq!(retry["flaky_attempts"], "2");
    assert_eq!(retry["parked"], "3");
    let mut dead_lettered: Vec<&str> = retry["dead_lettered"].split(',').collect();
    dead_lettered.sort_unstable();
    assert_eq!(dead_lettered, ["down-3", "poison-5"]);

    // ⑤ runs where the broker has the PROXIED listener; there, a bounded
    // shutdown gives up and the group resumes after the last commit.
    let outage = step(&output, "consumer-outage");
    if outage["run"] == "true" {
        assert_eq!(outage["closed"], "GaveUp", "{output}");
        assert_eq!(outage["resumes_at"], "10", "{output}");
    }
}

/// On librdkafka's mock cluster the chapter shows ① and then stops, with
/// exit code 3, at the first step that needs a real broker.
#[test]
fn on_the_mock_cluster_it_classifies_then_says_it_needs_a_real_broker() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-error-handling"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    let output =
        tutorial_lab::testing::assert_needs_real_broker_on_mock(command, Duration::from_secs(30));
    assert_eq!(step(&output, "classify")["QueueFull"], "BackOff");
    assert!(output.contains("needs a real broker"), "{output}");
}

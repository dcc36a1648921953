//! The chapter binary as a reader runs it. Assertions read the
//! `summary:` lines the showcase prints, not its prose.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{
    ChildProcess, assert_fails_fast_without_broker, summary_of, test_cluster, unique_name,
};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch01-architecture"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn an_unreachable_broker_fails_within_15_seconds_naming_the_address_and_the_fix() {
    let output = assert_fails_fast_without_broker(chapter());
    let lower = output.to_lowercase();
    for needle in ["connection refused", "docker compose up -d"] {
        assert!(lower.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--topic", &unique_name("ch01-cli")]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(90));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    let topic = summary_of(&output, "topic");
    assert_eq!(topic["outcome"], "created", "{output}");
    assert_eq!(topic["partitions"], "3", "{output}");
    let order = summary_of(&output, "order");
    assert_eq!(order["per_key_order_kept"], "true", "{output}");
    assert_eq!(order["offsets_consecutive"], "true", "{output}");
    let groups = summary_of(&output, "groups");
    assert_eq!(groups["crowd_idle_members"], "1", "{output}");
    assert_eq!(groups["crowd_idle_received"], "0", "{output}");
    assert_eq!(groups["pair_received"], "30", "{output}");
    assert_eq!(groups["crowd_received"], "30", "{output}");
}

/// This test deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` fallback itself, not a claim about Kafka.
#[test]
fn on_the_mock_cluster_the_chapter_runs_and_says_what_the_mock_lacks() {
    let mut command = chapter();
    command.env("KAFKA_BROKERS", "mock");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(240));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert!(
        output.contains("MOCK CLUSTER"),
        "the banner must be visible:\n{output}"
    );
    assert_eq!(summary_of(&output, "cluster")["mock"], "true", "{output}");
    assert_eq!(
        summary_of(&output, "topic")["outcome"],
        "created-on-mock",
        "the mock does not implement CreateTopics:\n{output}"
    );
    assert_eq!(
        summary_of(&output, "groups")["crowd_received"],
        "30",
        "{output}"
    );
}

//! The chapter binary as a reader runs it. The assertions read the
//! `summary:` lines the showcase prints, not its prose.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::go::INSTALL_GO;
use tutorial_lab::testing::{
    ChildProcess, TestTopic, assert_fails_fast_without_broker, summary_of, test_cluster,
};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-balancers"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

/// The value of `key` in the `summary: step` line.
fn field(output: &str, step: &str, key: &str) -> String {
    let fields = summary_of(output, step);
    fields
        .get(key)
        .unwrap_or_else(|| panic!("no {key} in summary: {step}: {fields:?}"))
        .clone()
}

#[tokio::test]
async fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    // Created (and deleted afterwards) by the test; the chapter reuses it.
    let topic = TestTopic::create(&cluster, "ch02-balancers-cli", 3, 1).await;
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--topic", &topic.name]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(300));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    let reused = summary_of(&output, "topic");
    assert_eq!(
        (reused["created"].as_str(), reused["partitions"].as_str()),
        ("no", "3")
    );
    assert_eq!(
        field(&output, "defaults", "partitioner"),
        "consistent_random"
    );
    // Every column answered, key by key.
    let java = summary_of(&output, "placement-java");
    let go_hash = summary_of(&output, "placement-kafka-go-hash");
    assert!(!java.contains_key("available"), "{java:?}");
    assert!(!go_hash.contains_key("available"), "{go_hash:?}");
    assert_eq!(summary_of(&output, "placement-murmur2_random"), java);
    assert_eq!(summary_of(&output, "placement-fnv1a_random"), go_hash);
    let traps = summary_of(&output, "traps");
    assert_eq!(traps["murmur2_random-vs-java"], "0", "{traps:?}");
    assert_eq!(traps["fnv1a_random-vs-kafka-go-hash"], "0", "{traps:?}");
    assert_ne!(traps["consistent_random-vs-java"], "0", "{traps:?}");
    assert_eq!(
        field(&output, "kafka-go-writer", "partitions"),
        "0,1,2,0,1,2"
    );
    let custom = summary_of(&output, "custom");
    assert_eq!(
        custom["threaded_keyless_calls"], "0",
        "the sticky logic placed them"
    );
    assert_eq!(custom["threaded_keyed_in_fixed"], "8", "{custom:?}");
    assert_eq!(custom["future_calls"], "0", "{custom:?}");
    assert_eq!(custom["future_placed_by"], "crc32", "{custom:?}");
    assert_eq!(field(&output, "explicit", "round_robin"), "100,100,100");
}

#[tokio::test]
async fn without_java_and_go_the_chapter_still_runs_and_says_what_is_missing() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-balancers-nojava", 3, 1).await;
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        // Neither `java` nor `go` can be found.
        .env("PATH", "/nonexistent/ch02-balancers")
        .env_remove("JAVA_HOME")
        .args(["--topic", &topic.name]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(180));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    let java = summary_of(&output, "placement-java");
    assert_eq!(java["available"], "no", "{java:?}");
    assert_eq!(java["reason"], "java-unavailable", "{java:?}");
    let go_hash = summary_of(&output, "placement-kafka-go-hash");
    assert_eq!(go_hash["reason"], "go-unavailable", "{go_hash:?}");
    assert_eq!(
        field(&output, "kafka-go-writer", "reason"),
        "go-unavailable"
    );
    // The reader is told how to get Go.
    assert!(output.contains(INSTALL_GO), "{output}");
    assert_eq!(field(&output, "traps", "murmur2_random-vs-java"), "missing");
    assert_eq!(field(&output, "explicit", "round_robin"), "100,100,100");
}

#[test]
fn an_unreachable_broker_fails_within_15_seconds_naming_the_address_and_the_fix() {
    assert_fails_fast_without_broker(chapter());
}

/// This test deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` fallback itself, not a claim about Kafka.
#[test]
fn on_the_mock_cluster_the_chapter_runs_and_names_what_needs_a_real_broker() {
    let mut command = chapter();
    command.env("KAFKA_BROKERS", "mock");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(180));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert!(output.contains("MOCK CLUSTER"), "{output}");
    assert_eq!(
        field(&output, "placement-java", "reason"),
        "needs-real-broker"
    );
    assert_eq!(
        field(&output, "kafka-go-writer", "reason"),
        "needs-real-broker"
    );
    assert_eq!(
        field(&output, "traps", "fnv1a_random-vs-kafka-go-hash"),
        "0"
    );
}

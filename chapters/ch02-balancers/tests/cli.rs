//! The chapter binary as a reader runs it.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{
    ChildProcess, TestTopic, assert_fails_fast_without_broker, test_cluster,
};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-balancers"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

/// The row of `key` in the placement table, split into columns.
fn row<'a>(output: &'a str, key: &str) -> Vec<&'a str> {
    output
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no row for {key} in:\n{output}"))
        .split_whitespace()
        .collect()
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
    let status = child.wait(Duration::from_secs(180));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert!(
        !output.contains("not available"),
        "every column answered:\n{output}"
    );
    for needle in [
        "exists with 3 partitions, reusing it",
        "partitioner                   = consistent_random   (librdkafka default)",
        "murmur2_random vs Java client: the same partition for all 8 keys",
        "fnv1a_random vs kafka-go Hash: the same partition for all 8 keys",
        "consistent_random vs Java client: different partition for",
        "(0 calls: the sticky logic placed them)",
        "the FutureProducer used the built-in partitioner",
        "round-robin, 300 records: [100, 100, 100]",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
    // Columns: key, consistent_random, murmur2_random, fnv1a_random, Java, kafka-go Hash.
    for key in ["alice", "dave", "erin"] {
        let cells = row(&output, key);
        assert_eq!(cells[2], cells[4], "murmur2_random = Java: {cells:?}");
        assert_eq!(
            cells[3], cells[5],
            "fnv1a_random = kafka-go Hash: {cells:?}"
        );
    }
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
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for needle in [
        "(Java client not available: cannot run `java`",
        "(kafka-go Hash not available: cannot run `go`",
        "install Go 1.23 or newer",
        "murmur2_random vs Java client: cannot compare (a column is missing)",
        "(not available: cannot run `go`",
        "round-robin, 300 records: [100, 100, 100]",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
    let alice = row(&output, "alice");
    assert_eq!((alice[4], alice[5]), ("-", "-"), "{alice:?}");
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
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for needle in [
        "MOCK CLUSTER",
        "Java client not available: needs a real broker",
        "(skipped: needs a real broker",
        "fnv1a_random vs kafka-go Hash: the same partition for all 8 keys",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

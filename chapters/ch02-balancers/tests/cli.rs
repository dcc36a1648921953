//! The chapter binary as a reader runs it.

use std::process::Command;
use std::time::Duration;

use tutorial_support::testing::{ChildProcess, test_cluster};

#[test]
fn the_chapter_prints_the_key_table_with_java_and_kafka_go_columns() {
    let cluster = test_cluster();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-balancers"));
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .env("RUST_LOG", "warn,librdkafka=off");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(180));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert!(
        output.contains("Java client") && output.contains("kafka-go Hash"),
        "{output}"
    );
    assert!(
        !output.contains("not available"),
        "both peers must have answered:\n{output}"
    );
    // In the alice row, murmur2_random equals the Java column and fnv1a the kafka-go one.
    let alice: Vec<&str> = output
        .lines()
        .find(|l| l.trim_start().starts_with("alice"))
        .expect("alice row")
        .split_whitespace()
        .collect();
    assert_eq!(alice[2], alice[4], "murmur2_random = Java: {alice:?}");
    assert_eq!(
        alice[3], alice[5],
        "fnv1a_random = kafka-go Hash: {alice:?}"
    );
}

//! The chapter binary as a reader runs it.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{
    ChildProcess, assert_fails_fast_without_broker, test_cluster, unique_name,
};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch01-architecture"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn an_unreachable_broker_fails_within_15_seconds_naming_the_address_and_the_fix() {
    let output = assert_fails_fast_without_broker(chapter());
    for needle in ["Connection refused", "docker compose up -d"] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
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
    for needle in [
        "created with 3 partition(s)",
        "per-key order kept: yes",
        "offsets consecutive within each partition: yes",
        "nothing (idle)",
        "group 'pair' received 30",
        "group 'crowd' received 30",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
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
    assert!(
        output.contains("does not implement CreateTopics"),
        "{output}"
    );
    assert!(output.contains("group 'crowd' received 30"), "{output}");
}

//! The chapter binary as a reader runs it.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{ChildProcess, test_cluster, unique_name};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-topic-admin"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--topic", &unique_name("ch02-cli")]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(60));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for needle in [
        "  created",
        "retention.ms         = 86400000     (set on this topic)",
        "already exists: reported as an answer",
        "keys now go to a different partition",
        "shrinking to 2: refused",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

/// Deliberately uses the mock cluster: it checks the `KAFKA_BROKERS=mock`
/// path, which must explain that the Admin API needs a real broker.
#[test]
fn on_the_mock_cluster_the_chapter_says_the_admin_api_needs_a_real_broker() {
    let mut command = chapter();
    command.env("KAFKA_BROKERS", "mock");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
    assert!(!status.success(), "{output}");
    assert!(
        output.contains("needs a real Kafka broker: the Admin API"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

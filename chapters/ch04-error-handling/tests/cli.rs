//! The chapter binary as a reader runs it.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{ChildProcess, test_cluster};

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
    for needle in [
        "defaults: failed after",
        "MessageTimedOut",
        "UnknownTopicOrPartition (Broker: Unknown topic or partition) → FailFast",
        "processed 17; dead-lettered offsets [3, 10, 17]",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

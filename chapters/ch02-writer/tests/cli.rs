//! The chapter binary as a reader runs it.

use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use tutorial_lab::testing::{ChildProcess, test_cluster, unique_name};

fn chapter(brokers: &str, topic: &str, records: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-writer"));
    command
        .env("RUST_LOG", "warn,librdkafka=off")
        .env("KAFKA_BROKERS", brokers)
        .args(["--topic", topic, "--records", records]);
    command
}

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let command = chapter(
        cluster.bootstrap_servers(),
        &unique_name("ch02-writer-cli"),
        "20000",
    );
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(90));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for needle in [
        "① Synchronous send of one record: partition",
        "#5 order-5: FAILED — record of 2000000 bytes is larger than message.max.bytes",
        "9 delivered, 1 failed",
        "enqueued 20000, delivered 20000, failed 0",
        "delivered 0, failed 1000 (purged)",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

#[test]
fn sigint_during_the_asynchronous_run_flushes_what_was_queued() {
    let cluster = test_cluster();
    let command = chapter(
        cluster.bootstrap_servers(),
        &unique_name("ch02-writer-int"),
        "50000000",
    );
    let mut child = ChildProcess::spawn(command);
    child.wait_for_line("③ Asynchronous send", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    child.signal(Signal::SIGINT);
    let status = child.wait(Duration::from_secs(60));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    let line = output
        .lines()
        .find(|l| l.contains("interrupted: flushed;"))
        .unwrap_or_else(|| panic!("no flush report:\n{output}"));
    assert!(line.ends_with(", 0 failed"), "{line}");
}

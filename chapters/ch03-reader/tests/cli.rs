//! The chapter binary as a reader runs it.

use std::process::Command;
use std::time::{Duration, Instant};

use ch03_reader::produce;
use nix::sys::signal::Signal;
use tutorial_lab::testing::{ChildProcess, TestTopic, committed_offset, test_cluster, unique_name};

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch03-reader"));
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .env("RUST_LOG", "warn,librdkafka=off");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for needle in [
        "auto.offset.reset=latest (librdkafka default): 0 of the 30 old records",
        "auto.offset.reset=earliest:                    30 of the 30 old records, 35 in total",
        "partition 0 from offset 3: first record is offset 3",
        "(together 100: each record once",
        "its only member got 100",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

#[tokio::test]
async fn ctrl_c_in_follow_mode_commits_what_was_read_and_leaves() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-follow", 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, 0, 25, None)
        .await
        .unwrap();
    let group = unique_name("ch03-follow");
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch03-reader"));
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .env("RUST_LOG", "warn,librdkafka=off")
        .args(["--follow", &topic.name, "--group", &group]);
    let mut child = ChildProcess::spawn(command);
    child.wait_for_line("/0@24:", Duration::from_secs(60));
    let started = Instant::now();
    child.signal(Signal::SIGINT);
    let status = child.wait(Duration::from_secs(20));
    assert!(status.success(), "{}", child.transcript());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "leaving the group is prompt"
    );
    assert!(
        child.transcript().contains("stopped after 25 records"),
        "{}",
        child.transcript()
    );
    assert_eq!(
        committed_offset(cluster.bootstrap_servers(), &topic.name, &group),
        Some(25)
    );
}

//! The chapter binary as a reader runs it. Assertions read the
//! `summary:` lines the showcase prints, not its prose.

use std::process::Command;
use std::time::{Duration, Instant};

use ch03_reader::lab::produce;
use nix::sys::signal::Signal;
use tutorial_lab::testing::{
    ChildProcess, TestTopic, committed_offset, summary_of, test_cluster, unique_name,
};
use tutorial_support::EXIT_NEEDS_REAL_BROKER;

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
    let reset = summary_of(&output, "reset-policy");
    assert_eq!(reset["latest_old"], "0", "{output}");
    assert_eq!(reset["earliest_old"], "30", "{output}");
    assert_eq!(reset["earliest_total"], "35", "{output}");
    assert_eq!(summary_of(&output, "seek-offset")["first"], "3", "{output}");
    let groups = summary_of(&output, "groups");
    assert_eq!(groups["billing_total"], "100", "{output}");
    assert_eq!(groups["audit"], "100", "{output}");
}

/// This test deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` fallback itself, not a claim about Kafka. The mock
/// runs the group steps and the seek by offset, and has no ListOffsets by
/// timestamp, so the showcase stops there with exit code 3 and one line.
#[test]
fn on_the_mock_cluster_the_chapter_stops_at_the_time_seek_saying_it_needs_a_real_broker() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch03-reader"));
    command
        .env("KAFKA_BROKERS", "mock")
        .env("RUST_LOG", "warn,librdkafka=off");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(180));
    let output = child.transcript();
    assert_eq!(
        status.code(),
        Some(i32::from(EXIT_NEEDS_REAL_BROKER)),
        "{output}"
    );
    assert_eq!(
        summary_of(&output, "reset-policy")["earliest_old"],
        "30",
        "{output}"
    );
    assert_eq!(summary_of(&output, "seek-offset")["first"], "3", "{output}");
    assert!(
        output.contains("needs a real broker: offsets_for_times"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
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
    let output = child.transcript();
    assert_eq!(summary_of(&output, "follow")["processed"], "25", "{output}");
    assert_eq!(
        committed_offset(cluster.bootstrap_servers(), &topic.name, &group),
        Some(25)
    );
}

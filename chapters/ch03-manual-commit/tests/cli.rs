//! The showcase and the worker as a reader runs them.

use std::process::Command;
use std::time::{Duration, Instant};

use ch03_manual_commit::{committed_offset, produce};
use nix::sys::signal::Signal;
use tutorial_lab::testing::{ChildProcess, TestTopic, test_cluster, unique_name};

#[test]
fn the_showcase_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch03-manual-commit"));
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .env("RUST_LOG", "warn,librdkafka=off")
        .args([
            "--records",
            "200",
            "--crash-at",
            "100",
            "--cost-records",
            "2000",
        ]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(180));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for needle in [
        "auto         killed with committed offset  101; lost  1 {100}",
        "store-after ",
        "sync-commit  killed with committed offset  100; lost  0",
        "sync-commit ",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

/// With the background auto-commit effectively off (10 minutes), only the
/// commit on shutdown can move the group's offset: SIGTERM must trigger it.
#[tokio::test]
async fn sigterm_makes_the_worker_commit_what_it_processed_before_leaving() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-sigterm", 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, 300)
        .await
        .unwrap();
    let group = unique_name("ch03-sigterm");
    let sink = std::env::temp_dir().join(unique_name("ch03-sigterm-sink"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch03-manual-commit"));
    command
        .env("RUST_LOG", "warn,librdkafka=off")
        .args([
            "worker",
            "--brokers",
            cluster.bootstrap_servers(),
            "--topic",
            &topic.name,
        ])
        .args([
            "--group",
            &group,
            "--mode",
            "store-after",
            "--auto-commit-interval-ms",
            "600000",
        ])
        .arg("--sink")
        .arg(&sink);
    let mut child = ChildProcess::spawn(command);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&sink)
        .map(|s| s.lines().count())
        .unwrap_or(0)
        < 300
    {
        assert!(
            Instant::now() < deadline,
            "the worker did not process 300 records in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.signal(Signal::SIGTERM);
    let status = child.wait(Duration::from_secs(30));
    assert!(status.success(), "{}", child.transcript());
    assert!(
        child.transcript().contains("worker stopped: processed 300"),
        "{}",
        child.transcript()
    );
    let committed = committed_offset(cluster.bootstrap_servers(), &topic.name, &group).unwrap();
    assert_eq!(
        committed,
        Some(300),
        "the shutdown commit recorded everything processed"
    );
    let _ = std::fs::remove_file(&sink);
}

//! The showcase and the worker as a reader runs them. Assertions read the
//! `summary:` lines they print, not their prose.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use ch03_manual_commit::lab::{committed_offset, produce};
use nix::sys::signal::Signal;
use tutorial_lab::testing::{ChildProcess, TestTopic, summary_of, test_cluster, unique_name};
use tutorial_support::EXIT_NEEDS_REAL_BROKER;

fn committed(fields: &BTreeMap<String, String>) -> i64 {
    fields["committed_at_kill"].parse().unwrap()
}

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
    let status = child.wait(Duration::from_secs(300));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    // Killed when offset 100 was handed out, before it was processed.
    let auto = summary_of(&output, "drill-auto-handed-out");
    assert_eq!(auto["committed_at_kill"], "101", "{output}");
    assert_eq!(auto["lost"], "1", "{output}");
    assert_eq!(auto["lost_offsets"], "100", "{output}");
    let store = summary_of(&output, "drill-store-after-handed-out");
    assert_eq!(store["lost"], "0", "{output}");
    assert_eq!(
        store["repeated"],
        (100 - committed(&store)).to_string(),
        "{output}"
    );
    let sync = summary_of(&output, "drill-sync-commit-handed-out");
    assert_eq!(sync["committed_at_kill"], "100", "{output}");
    assert_eq!(sync["lost"], "0", "{output}");
    assert_eq!(sync["repeated"], "0", "{output}");
    // Killed when offset 100 was processed, before its offset was stored or
    // committed: no mode loses it; the at-least-once modes repeat it.
    let auto = summary_of(&output, "drill-auto-processed");
    assert_eq!(auto["committed_at_kill"], "101", "{output}");
    assert_eq!(auto["lost"], "0", "{output}");
    assert_eq!(auto["repeated"], "0", "{output}");
    let store = summary_of(&output, "drill-store-after-processed");
    assert_eq!(store["lost"], "0", "{output}");
    assert_eq!(
        store["repeated"],
        (101 - committed(&store)).to_string(),
        "{output}"
    );
    let sync = summary_of(&output, "drill-sync-commit-processed");
    assert_eq!(sync["committed_at_kill"], "100", "{output}");
    assert_eq!(sync["lost"], "0", "{output}");
    assert_eq!(sync["repeated"], "1", "{output}");
    for fields in [&auto, &store, &sync] {
        assert_eq!(fields["applied_after_dedupe"], "200", "{output}");
    }
    for mode in ["auto", "store-after", "sync-commit"] {
        assert_eq!(
            summary_of(&output, &format!("cost-{mode}"))["records"],
            "2000",
            "{output}"
        );
    }
}

/// This test deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` fallback itself, not a claim about Kafka. The crash
/// drills run each consumer as a separate process, which cannot reach a
/// mock cluster inside the showcase: it stops there, exit code 3, one line.
#[test]
fn on_the_mock_cluster_the_showcase_stops_before_the_crash_drills_saying_it_needs_a_real_broker() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch03-manual-commit"));
    command
        .env("KAFKA_BROKERS", "mock")
        .env("RUST_LOG", "warn,librdkafka=off");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(60));
    let output = child.transcript();
    assert_eq!(
        status.code(),
        Some(i32::from(EXIT_NEEDS_REAL_BROKER)),
        "{output}"
    );
    assert!(
        output.contains("needs a real broker: the crash drills"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
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
    let output = child.transcript();
    assert_eq!(
        summary_of(&output, "worker")["processed"],
        "300",
        "{output}"
    );
    let committed = committed_offset(cluster.bootstrap_servers(), &topic.name, &group).unwrap();
    assert_eq!(
        committed,
        Some(300),
        "the shutdown commit recorded everything processed"
    );
    let _ = std::fs::remove_file(&sink);
}

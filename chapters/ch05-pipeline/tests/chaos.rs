//! The chaos drill on three brokers (`#[ignore]`d: `cargo xtask test` runs
//! it in its three-broker phase). Both modes run the same drill — at least
//! 200 000 events, 10 random stage SIGKILLs, 2 more at the point between
//! output and offsets, one broker SIGKILL — exactly-once must come out
//! exact, at-least-once shows its double counts (and loses nothing).

use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use tutorial_lab::testing::{ChildProcess, summary_of, test_cluster_with_brokers};

/// The two drills kill brokers of the same cluster: one at a time.
static ONE_DRILL: Mutex<()> = Mutex::new(());

fn drill(args: &[&str]) -> std::collections::BTreeMap<String, String> {
    let cluster = test_cluster_with_brokers(3);
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch05-pipeline"));
    command
        .arg("chaos")
        .args(args)
        .env("KAFKA_BROKERS", cluster.bootstrap_servers());
    let mut child = ChildProcess::spawn(command);
    let output = child
        .finish(Duration::from_secs(600))
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{output}");
    summary_of(&output, "audit")
}

fn number(audit: &std::collections::BTreeMap<String, String>, key: &str) -> u64 {
    audit[key].parse().unwrap()
}

#[test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
fn exactly_once_survives_stage_and_broker_kills() {
    let _one = ONE_DRILL.lock().unwrap_or_else(|e| e.into_inner());
    let audit = drill(&[
        "--mode",
        "exactly-once",
        "--events",
        "201000",
        "--kills",
        "10",
    ]);
    assert!(number(&audit, "input_events") >= 200_000, "{audit:?}");
    assert!(
        number(&audit, "kills") - number(&audit, "chosen_point_kills") >= 10,
        "10 random kills: {audit:?}"
    );
    assert_eq!(number(&audit, "lost"), 0, "{audit:?}");
    assert_eq!(number(&audit, "double_counted"), 0, "{audit:?}");
    assert_eq!(
        number(&audit, "counted_once"),
        number(&audit, "input_events")
    );
    assert!(number(&audit, "bad") > 0, "{audit:?}");
    assert_eq!(
        number(&audit, "bad_missing_from_dlq") + number(&audit, "bad_doubled_in_dlq"),
        0
    );
    assert_eq!(
        number(&audit, "user_cells_wrong") + number(&audit, "page_cells_wrong"),
        0
    );
    assert_eq!(audit["exactly_once"], "true", "{audit:?}");
}

#[test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
fn at_least_once_counts_events_twice_after_the_same_kills() {
    let _one = ONE_DRILL.lock().unwrap_or_else(|e| e.into_inner());
    let audit = drill(&[
        "--mode",
        "at-least-once",
        "--events",
        "201000",
        "--kills",
        "10",
    ]);
    assert!(number(&audit, "input_events") >= 200_000, "{audit:?}");
    assert!(
        number(&audit, "kills") - number(&audit, "chosen_point_kills") >= 10,
        "{audit:?}"
    );
    assert!(
        number(&audit, "chosen_point_kills") >= 1,
        "a kill between output and offsets: {audit:?}"
    );
    assert_eq!(
        number(&audit, "lost"),
        0,
        "at-least-once loses nothing: {audit:?}"
    );
    assert!(number(&audit, "double_counted") > 0, "{audit:?}");
    assert!(number(&audit, "page_cells_wrong") > 0, "{audit:?}");
    assert_eq!(audit["exactly_once"], "false");
}

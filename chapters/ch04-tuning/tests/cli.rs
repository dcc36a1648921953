//! The binary as a reader runs it: the demonstration end to end (its
//! `summary:` lines), a clear error without a broker, and a clear stop on
//! the mock cluster.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;
use tutorial_lab::testing::assert_needs_real_broker_on_mock;

use tutorial_lab::testing::{ChildProcess, assert_fails_fast_without_broker, test_cluster};
use tutorial_support::parse_summary;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-tuning"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

fn number(fields: &BTreeMap<String, String>, key: &str) -> f64 {
    fields
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number {key} in {fields:?}"))
}

#[test]
fn the_demonstration_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = binary();
    command.args([
        "--brokers",
        cluster.bootstrap_servers(),
        "--records",
        "5000",
        "--link-rate",
        "1000",
        "--link-seconds",
        "1",
    ]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(180));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    // The effective settings are printed first.
    assert!(
        output.contains("linger.ms") && output.contains("batch.size"),
        "{output}"
    );
    // ① every record of every linger.ms run delivered, with latencies.
    for linger_ms in [0, 5, 50] {
        let step = format!("linger-{linger_ms}");
        let fields = parse_summary(&output, &step)
            .unwrap_or_else(|| panic!("no `summary: {step}` in:\n{output}"));
        assert_eq!(number(&fields, "records"), 5000.0, "{step}: {fields:?}");
        assert!(number(&fields, "records_per_second") > 0.0, "{fields:?}");
        assert!(number(&fields, "p50_ms") > 0.0, "{fields:?}");
    }
    // ② the synchronous sends: 3 with linger.ms=1000, 20 with 5; each
    // waits out its linger (a lower bound only).
    let slow = parse_summary(&output, "sync-send-1000").expect("summary: sync-send-1000");
    assert_eq!(number(&slow, "sends"), 3.0);
    assert!(number(&slow, "p50_ms") >= 900.0, "{slow:?}");
    let fast = parse_summary(&output, "sync-send-5").expect("summary: sync-send-5");
    assert_eq!(number(&fast, "sends"), 20.0);
    // ③ over the delayed link: every record delivered, and the batches grow
    // with linger.ms (1000 records/s: about one record per request at 0).
    let mut per_request = Vec::new();
    for linger_ms in [0, 5, 20, 100] {
        let step = format!("link-linger-{linger_ms}");
        let fields = parse_summary(&output, &step)
            .unwrap_or_else(|| panic!("no `summary: {step}` in:\n{output}"));
        assert_eq!(number(&fields, "records"), 1000.0, "{step}: {fields:?}");
        per_request.push(number(&fields, "records_per_request"));
    }
    assert!(
        per_request.windows(2).all(|w| w[0] < w[1]),
        "records per request rise with linger.ms: {per_request:?}"
    );
}

#[test]
fn an_unreachable_broker_fails_fast_with_instructions() {
    let output = assert_fails_fast_without_broker(binary());
    assert!(!output.contains("summary:"), "{output}");
}

#[test]
fn the_mock_cluster_stops_at_the_first_measurement_with_exit_code_3() {
    let command = binary();
    let output = assert_needs_real_broker_on_mock(command, Duration::from_secs(30));
    assert!(output.contains("needs a real broker"), "{output}");
    assert!(!output.contains("panicked"), "{output}");
}

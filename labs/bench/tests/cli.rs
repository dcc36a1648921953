//! The lab's binary as a reader runs it by hand: clear errors for bad input
//! and for a missing broker, a clear stop on the mock cluster, and one run
//! of our client end to end.

use std::process::Command;
use std::time::Duration;

use bench_lab::clients::RunResult;
use tutorial_lab::testing::{
    ChildProcess, TestTopic, assert_fails_fast_without_broker, test_cluster,
};
use tutorial_support::EXIT_NEEDS_REAL_BROKER;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench-lab"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

fn run(mut command: Command, limit: Duration) -> (std::process::ExitStatus, String) {
    command.env("RUST_LOG", "warn,librdkafka=off");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(limit);
    (status, child.transcript())
}

#[test]
fn an_unknown_codec_is_refused_with_the_list_of_valid_ones() {
    let mut command = binary();
    command.args(["produce", "--topic", "t", "--compression", "brotli"]);
    let (status, output) = run(command, Duration::from_secs(30));
    assert!(!status.success());
    assert!(
        output.contains("brotli") && output.contains("zstd") && output.contains("gzip"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

#[test]
fn an_unreachable_broker_fails_fast_with_instructions() {
    let mut command = binary();
    command.args(["produce", "--topic", "t"]);
    assert_fails_fast_without_broker(command);
}

#[test]
fn a_child_given_a_broken_spec_says_so_without_panicking() {
    let mut command = binary();
    command.args(["child", r#"{"client":"RustBase","records":"#]);
    let (status, output) = run(command, Duration::from_secs(30));
    assert!(!status.success());
    assert!(output.contains("not a run spec"), "{output}");
    assert!(!output.contains("panicked"), "{output}");
}

#[test]
fn the_bench_on_the_mock_cluster_stops_with_exit_code_3() {
    let mut command = binary();
    command.args(["bench", "--mode", "tiny", "--no-java", "--no-go"]);
    command.env("KAFKA_BROKERS", "mock");
    let (status, output) = run(command, Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(i32::from(EXIT_NEEDS_REAL_BROKER)),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

#[tokio::test]
async fn one_run_by_hand_prints_a_result_line() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "bench-lab-by-hand", 3, 1).await;
    let mut command = binary();
    command
        .args(["produce", "--brokers", cluster.bootstrap_servers()])
        .args([
            "--topic",
            &topic.name,
            "--records",
            "2000",
            "--kind",
            "future",
        ])
        .args([
            "--record-size",
            "100",
            "--compression",
            "lz4",
            "--linger-ms",
            "1",
        ]);
    let (status, output) = run(command, Duration::from_secs(60));
    assert!(status.success(), "{output}");
    let result = RunResult::from_output(&output).expect("a RESULT line");
    assert_eq!(
        (result.records, result.bytes, result.errors),
        (2000, 200_000, 0)
    );
    assert!(
        output.contains("compression.type") && output.contains("lz4"),
        "{output}"
    );
}

/// `bench-lab link` end to end, small: one row per configuration, every
/// row with a records-per-request figure that grows with linger.ms at a
/// fixed load. (The timings it prints are measurements, not asserted.)
#[test]
fn the_link_bench_prints_one_row_per_configuration() {
    let cluster = test_cluster();
    let mut command = binary();
    command
        .args(["link", "--brokers", cluster.bootstrap_servers()])
        .args(["--one-way-ms", "5", "--rates", "1000", "--lingers", "0,50"])
        .args(["--seconds", "1", "--runs", "1"]);
    let (status, output) = run(command, Duration::from_secs(120));
    assert!(status.success(), "{output}");
    // "     10 ms  1000/s             0  false   1.0  …": round trip, load,
    // linger.ms, idempotence, records/request, …
    let per_request: Vec<(u64, f64)> = output
        .lines()
        .filter(|line| line.contains(" ms  1000/s "))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let number = |i: usize| fields.get(i).copied().unwrap_or_default();
            (number(3).parse().unwrap(), number(5).parse().unwrap())
        })
        .collect();
    assert_eq!(per_request.len(), 2, "{output}");
    assert_eq!(per_request[0].0, 0);
    assert!(
        per_request[1].1 > 5.0 * per_request[0].1,
        "linger.ms=50 batches far more than 0: {per_request:?}\n{output}"
    );
}

#[test]
fn the_consumer_latency_bench_prints_one_row_per_configuration() {
    // Every record is read (the run fails otherwise) and each setting gets
    // a row with its p50 and p99. The latencies themselves are
    // measurements (附录 E), not asserted.
    let cluster = test_cluster();
    let mut command = binary();
    command
        .args(["e2e", "--brokers", cluster.bootstrap_servers()])
        .args(["--rate", "500", "--seconds", "1", "--runs", "1"]);
    let (status, output) = run(command, Duration::from_secs(240));
    assert!(status.success(), "{output}");
    let rows: Vec<(String, f64, f64)> = output
        .lines()
        .filter(|line| line.starts_with("librdkafka defaults") || line.starts_with("f"))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [.., p50, p99] = fields.as_slice() else {
                return None;
            };
            Some((line.to_string(), p50.parse().ok()?, p99.parse().ok()?))
        })
        .collect();
    assert_eq!(rows.len(), 4, "{output}");
    assert!(rows.iter().all(|(_, p50, p99)| p50 <= p99), "{rows:?}");
}

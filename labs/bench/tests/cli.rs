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

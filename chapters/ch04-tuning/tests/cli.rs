//! The binary as a reader runs it: the demonstration end to end, and clear
//! errors for bad input.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{ChildProcess, test_cluster};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-tuning"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
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
    ]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for needle in [
        "linger.ms                             = 5",
        "① 5000 records of 1000 B",
        "linger.ms = 1000: 3 sends",
        "linger.ms =    5: 20 sends",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

#[test]
fn an_unknown_codec_is_refused_with_the_list_of_valid_ones() {
    let mut command = binary();
    command.args(["produce", "--topic", "t", "--compression", "brotli"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
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
    command.args(["produce", "--topic", "t", "--brokers", "127.0.0.1:1"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
    assert!(!status.success());
    assert!(
        output.contains("error:") && output.contains("127.0.0.1:1"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

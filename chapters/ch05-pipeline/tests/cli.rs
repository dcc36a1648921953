//! The pipeline's command line without a usable broker: a fast, clear
//! error, and exit code 3 on librdkafka's mock cluster.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{assert_fails_fast_without_broker, assert_needs_real_broker_on_mock};

fn pipeline(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch05-pipeline"));
    command.args(args);
    command
}

#[test]
fn every_stage_fails_fast_without_a_broker() {
    for args in [&[][..], &["ingest"], &["transform"], &["sink"]] {
        assert_fails_fast_without_broker(pipeline(args));
    }
}

#[test]
fn the_mock_cluster_stops_with_exit_code_3() {
    for args in [&[][..], &["ingest"], &["transform"], &["sink"]] {
        let output = assert_needs_real_broker_on_mock(pipeline(args), Duration::from_secs(30));
        assert!(!output.contains("summary: pipeline"), "{output}");
    }
}

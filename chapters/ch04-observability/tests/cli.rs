//! The chapter binary as a reader runs it. Assertions are on its
//! `summary:` lines, not on the prose around them.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::{ChildProcess, assert_fails_fast_without_broker, summary_of, test_cluster};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-observability"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--metrics-port", "0", "--seconds", "6"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");

    assert_eq!(summary_of(&output, "metrics")["state"], "on");
    let live = summary_of(&output, "live");
    let max_lag: i64 = live["max_lag_offsets"].parse().unwrap();
    assert!(
        max_lag >= 100,
        "two paused seconds at ~100 records/s: {output}"
    );
    assert_eq!(live["stats_lag_frozen_while_paused"], "true", "{output}");
    let scrape = summary_of(&output, "scrape");
    assert_eq!(scrape["status"], "200");
    assert!(
        scrape["families"].parse::<usize>().unwrap() >= 20,
        "{output}"
    );
    let lag = summary_of(&output, "lag");
    assert_eq!(lag["stats"], lag["offsets"], "{output}");
    assert_eq!(lag["tool"], lag["offsets"], "{output}");
}

/// On librdkafka's mock cluster the statistics work: the chapter runs ①–③
/// and the first two lags of ④, then stops (exit 3) before Kafka's tool.
#[test]
fn on_the_mock_cluster_it_runs_until_kafkas_tool_then_says_it_needs_a_real_broker() {
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", "mock")
        .args(["--metrics-port", "0", "--seconds", "3"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(90));
    let output = child.transcript();
    assert_eq!(
        status.code(),
        Some(i32::from(tutorial_support::EXIT_NEEDS_REAL_BROKER)),
        "{output}"
    );
    assert_eq!(summary_of(&output, "scrape")["status"], "200");
    let lag = summary_of(&output, "lag");
    assert_eq!(lag["stats"], lag["offsets"], "{output}");
    assert!(!lag.contains_key("tool"));
    assert!(output.contains("needs a real broker"), "{output}");
}

#[test]
fn without_a_broker_it_fails_fast_with_instructions() {
    assert_fails_fast_without_broker(chapter());
}

#[test]
fn with_statistics_off_it_says_metrics_are_off_and_shows_no_numbers() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--metrics-port", "0", "--stats-interval-ms", "0"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert_eq!(summary_of(&output, "metrics")["state"], "off");
    assert!(
        output.contains("metrics are off: statistics.interval.ms=0"),
        "{output}"
    );
    assert!(
        tutorial_support::parse_summary(&output, "live").is_none(),
        "{output}"
    );
}

#[test]
fn a_metrics_port_in_use_stops_it_with_an_error_naming_the_port() {
    let cluster = test_cluster();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--metrics-port", &port]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains(&format!("error: cannot serve /metrics on port {port}"))
            && output.contains("already in use"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

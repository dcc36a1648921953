//! The chapter binary as a reader runs it. The assertions read the
//! `summary:` lines the showcase prints, not its prose.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use tutorial_lab::testing::{ChildProcess, summary_of, test_cluster, unique_name};

fn chapter(brokers: &str, topic: &str, records: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-writer"));
    command
        .env("RUST_LOG", "warn,librdkafka=off")
        .env("KAFKA_BROKERS", brokers)
        .args(["--topic", topic, "--records", records]);
    command
}

/// `fields` holds exactly these values.
fn assert_fields(fields: &BTreeMap<String, String>, expected: &[(&str, &str)]) {
    for (key, value) in expected {
        assert_eq!(
            fields.get(*key).map(String::as_str),
            Some(*value),
            "{key} in {fields:?}"
        );
    }
}

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let command = chapter(
        cluster.bootstrap_servers(),
        &unique_name("ch02-writer-cli"),
        "20000",
    );
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(90));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    let one = summary_of(&output, "sync-one");
    assert!(
        one["partition"]
            .parse::<i32>()
            .is_ok_and(|p| (0..3).contains(&p)),
        "{one:?}"
    );
    // The sixth record of the batch is larger than message.max.bytes.
    assert_fields(
        &summary_of(&output, "sync-batch"),
        &[
            ("sent", "10"),
            ("delivered", "9"),
            ("failed", "1"),
            ("too_large", "1"),
        ],
    );
    assert_fields(
        &summary_of(&output, "async"),
        &[
            ("enqueued", "20000"),
            ("delivered", "20000"),
            ("failed", "0"),
        ],
    );
    assert_fields(
        &summary_of(&output, "drop-without-flush"),
        &[("queued", "1000"), ("delivered", "0"), ("failed", "1000")],
    );
}

#[test]
fn sigint_during_the_asynchronous_run_flushes_what_was_queued() {
    let cluster = test_cluster();
    let command = chapter(
        cluster.bootstrap_servers(),
        &unique_name("ch02-writer-int"),
        "50000000",
    );
    let mut child = ChildProcess::spawn(command);
    child.wait_for_line("summary: async-start", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    child.signal(Signal::SIGINT);
    let status = child.wait(Duration::from_secs(60));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    let interrupted = summary_of(&output, "interrupted");
    assert_eq!(interrupted["failed"], "0", "{interrupted:?}");
    assert!(
        interrupted["delivered"].parse::<u64>().is_ok_and(|n| n > 0),
        "records queued before the signal were delivered: {interrupted:?}"
    );
}

/// Deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` path — every step of this chapter runs there.
#[test]
fn on_the_mock_cluster_every_step_runs() {
    let command = chapter("mock", "ch02-writer-mock", "2000");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(60));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert!(output.contains("MOCK CLUSTER"), "{output}");
    assert_fields(
        &summary_of(&output, "sync-batch"),
        &[("delivered", "9"), ("too_large", "1")],
    );
    assert_fields(
        &summary_of(&output, "async"),
        &[("enqueued", "2000"), ("delivered", "2000"), ("failed", "0")],
    );
    assert_fields(
        &summary_of(&output, "drop-without-flush"),
        &[("delivered", "0"), ("failed", "1000")],
    );
}

//! The chapter binary as a reader runs it. The assertions read the
//! `summary:` lines the showcase prints, not its prose.

use std::process::Command;
use std::time::Duration;
use tutorial_lab::testing::assert_needs_real_broker_on_mock;

use tutorial_lab::testing::{ChildProcess, summary_of, test_cluster, unique_name};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-topic-admin"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--topic", &unique_name("ch02-cli")]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(60));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert_eq!(summary_of(&output, "create")["outcome"], "created");
    let described = summary_of(&output, "describe");
    // Set by the chapter (retention.ms defaults to one day) or inherited.
    assert_eq!(
        described["retention.ms"], "86400000(topic)",
        "{described:?}"
    );
    assert_eq!(
        described["cleanup.policy"], "delete(topic)",
        "{described:?}"
    );
    assert!(
        described["segment.bytes"].ends_with("(broker)"),
        "{described:?}"
    );
    assert_eq!(
        summary_of(&output, "create-again")["outcome"],
        "already_exists"
    );
    let grow = summary_of(&output, "grow");
    assert!(
        grow["moved"].parse::<u32>().is_ok_and(|n| n > 0),
        "keys now go to a different partition: {grow:?}"
    );
    assert_eq!(grow["shrink_to_2"], "refused", "{grow:?}");
}

/// Deliberately uses the mock cluster: it checks the `KAFKA_BROKERS=mock`
/// path, which must stop with "needs a real broker" (exit code 3) because
/// the mock has no Admin API.
#[test]
fn on_the_mock_cluster_the_chapter_says_the_admin_api_needs_a_real_broker() {
    let command = chapter();
    let output = assert_needs_real_broker_on_mock(command, Duration::from_secs(30));
    assert!(
        output.contains("needs a real broker: the Admin API"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

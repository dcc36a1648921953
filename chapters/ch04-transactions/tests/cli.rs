//! The chapter binary as a reader runs it. Assertions are on its
//! `summary:` lines, not on the prose around them.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::{
    ChildProcess, assert_fails_fast_without_broker, assert_needs_real_broker_on_mock,
    summary_of as step, test_cluster,
};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-transactions"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn the_chapter_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = chapter();
    command.env("KAFKA_BROKERS", cluster.bootstrap_servers());
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(300));
    let output = child.transcript();
    assert!(status.success(), "{output}");

    let visibility = step(&output, "visibility");
    assert_eq!(
        visibility["committed_while_open"],
        "committed-0,committed-1,committed-2"
    );
    assert_eq!(visibility["lso_while_open"], "8", "{output}");
    assert_eq!(visibility["high_while_open"], "11", "{output}");
    assert_eq!(
        visibility["committed_after"],
        "committed-0,committed-1,committed-2,open-0,open-1,open-2"
    );

    for point in [
        "after-produce",
        "after-offsets",
        "during-commit",
        "after-commit",
    ] {
        let crash = step(&output, &format!("crash-exactly-once-{point}"));
        assert_eq!(crash["lost"], "0", "{point}: {output}");
        assert_eq!(crash["duplicated"], "0", "{point}: {output}");
        assert_eq!(crash["outputs"], crash["inputs"], "{point}: {output}");
    }
    let at_least_once = step(&output, "crash-at-least-once-after-produce");
    assert_eq!(at_least_once["lost"], "0", "{output}");
    assert_ne!(at_least_once["duplicated"], "0", "{output}");

    let fencing = step(&output, "fencing");
    assert_eq!(fencing["code"], "Fenced", "{output}");
    assert_eq!(fencing["class"], "Fatal");
    assert_eq!(fencing["committed"], "new-0");

    let lso = step(&output, "lso");
    assert_eq!(lso["lso_while_open"], "5", "{output}");
    assert_eq!(lso["high_while_open"], "15");
    assert_eq!(lso["lag_after"], "1");

    let bad = step(&output, "bad-input");
    assert_eq!(
        bad["above-broker-maximum_code"], "InvalidTransactionTimeout",
        "{output}"
    );
    assert_eq!(bad["commit-without-begin_code"], "State", "{output}");
    assert_eq!(bad["expired_committed"], "0", "{output}");

    // ⑥ runs where Go and the Kafka jars are present.
    let others = step(&output, "other-clients");
    if others["run"] == "true" {
        assert_eq!(others["java_committed"], "5", "{output}");
        assert_eq!(others["kafka_go_messages"], "11", "{output}");
        assert_eq!(others["kafka_go_aborted"], "3", "{output}");
        assert_eq!(others["kafka_go_markers"], "3", "{output}");
    }
}

#[test]
fn without_a_broker_it_fails_fast_with_advice() {
    assert_fails_fast_without_broker(chapter());
}

/// On librdkafka's mock cluster the chapter stops at once, with exit code 3:
/// its scenes compare isolation levels, kill workers and fence zombies on
/// a real transaction coordinator.
#[test]
fn on_the_mock_cluster_it_says_it_needs_a_real_broker() {
    let output = assert_needs_real_broker_on_mock(chapter(), Duration::from_secs(30));
    // One line says why, and nothing ran before it.
    assert_eq!(output.matches("needs a real broker").count(), 1, "{output}");
    assert!(!output.contains("summary:"), "{output}");
}

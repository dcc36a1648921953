//! The showcase as a reader runs it. Assertions read the `summary:` lines
//! it prints, not its prose.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{
    ChildProcess, assert_needs_real_broker_on_mock, summary_of, test_cluster,
};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch03-rebalance"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn the_showcase_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--protocol", "cooperative"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for step in ["cooperative-join", "cooperative-leave"] {
        let fields = summary_of(&output, step);
        assert_ne!(fields["moved"], "0", "{step}: {output}");
        assert_eq!(fields["revoked_and_returned"], "0", "{step}: {output}");
    }
}

/// This test deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` fallback itself, not a claim about Kafka. The mock
/// runs classic and KIP-848 groups, so the whole showcase runs on it.
#[test]
fn on_the_mock_cluster_the_showcase_runs_all_three_protocols() {
    let mut command = chapter();
    command.env("KAFKA_BROKERS", "mock");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(300));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert!(output.contains("MOCK CLUSTER"), "{output}");
    for protocol in ["eager", "cooperative", "consumer"] {
        for step in ["join", "leave"] {
            summary_of(&output, &format!("{protocol}-{step}"));
        }
    }
}

/// `commit-on-revoke` as the page runs it, for one protocol: one summary
/// line per combination; only "no auto-commit, no commit on revoke" repeats.
#[test]
fn the_commit_on_revoke_drill_repeats_only_when_nobody_commits() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["commit-on-revoke", "--protocol", "cooperative"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(240));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for combination in ["auto-commit+revoke-commit", "auto-commit", "revoke-commit"] {
        let fields = summary_of(&output, &format!("revoke-cooperative-{combination}"));
        assert_eq!(fields["lost"], "0", "{combination}: {output}");
        assert_eq!(fields["repeated"], "0", "{combination}: {output}");
    }
    let none = summary_of(&output, "revoke-cooperative-none");
    assert_eq!(none["lost"], "0", "{output}");
    assert_ne!(none["repeated"], "0", "{output}");
}

/// This test deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` fallback itself. The drill's figures are about the
/// real coordinator, so it stops with exit code 3 and says why.
#[test]
fn on_the_mock_cluster_the_commit_on_revoke_drill_says_it_needs_a_real_broker() {
    let mut command = chapter();
    command.arg("commit-on-revoke");
    let output = assert_needs_real_broker_on_mock(command, Duration::from_secs(60));
    assert!(
        output.contains("needs a real broker: the commit-on-revoke drill"),
        "{output}"
    );
}

//! The showcase as a reader runs it. Assertions read the `summary:` lines
//! it prints, not its prose.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{ChildProcess, summary_of, test_cluster};

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

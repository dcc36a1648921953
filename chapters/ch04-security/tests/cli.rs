//! The binary as a reader runs it: the demonstration end to end on the
//! secured node (a `secure_node_*` test: `cargo xtask test` runs it in its
//! secured-node phase), a clear stop without the node, and on the mock
//! cluster.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{ChildProcess, assert_needs_real_broker_on_mock, summary_of};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-security"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn secure_node_demonstration_runs_end_to_end() {
    // Fails with the node's "start it with" message if it is absent.
    ch04_security::lab::SecureNode::find().unwrap_or_else(|missing| panic!("{missing}"));
    let mut command = binary();
    command.args(["--records", "6"]);
    let mut child = ChildProcess::spawn(command);
    let output = child
        .finish(Duration::from_secs(900))
        .unwrap_or_else(|e| panic!("{e}"));
    for case in ["plaintext", "system-ca", "ip-address"] {
        let fields = summary_of(&output, &format!("refused-{case}"));
        assert_eq!(fields["refused"], "true", "{case}: {output}");
    }
    assert_eq!(
        summary_of(&output, "refused-plaintext")["kind"],
        "Transport"
    );
    assert_eq!(summary_of(&output, "refused-system-ca")["kind"], "Tls");
    assert_eq!(summary_of(&output, "refused-ip-address")["kind"], "Tls");
    for case in ["wrong-password", "unknown-user"] {
        let fields = summary_of(&output, &format!("refused-{case}"));
        assert_eq!(fields["kind"], "Authentication", "{case}: {output}");
    }
    let none = summary_of(&output, "no-acls");
    assert_eq!(none["produced"], "0");
    assert_eq!(none["consumed"], "0");
    assert_eq!(none["produce_error"], "TopicAuthorizationFailed");
    assert_eq!(none["consume_error"], "GroupAuthorizationFailed");
    let granted = summary_of(&output, "granted");
    assert_eq!(granted["produced"], "6");
    assert_eq!(granted["consumed"], "6");
    let bob = summary_of(&output, "bob");
    assert_eq!(bob["read_allowed"], "6");
    assert_eq!(bob["read_other"], "0");
    assert_eq!(bob["read_other_error"], "TopicAuthorizationFailed");
    assert_eq!(bob["create_topic"], "Some(TopicAuthorizationFailed)");
    assert_eq!(bob["alter_acls_ok"], "false");
}

#[test]
fn secure_node_connect_takes_the_login_from_the_environment() {
    let node = ch04_security::lab::SecureNode::find().unwrap_or_else(|missing| panic!("{missing}"));
    // The password as a mounted secret file would hold it.
    let file = std::env::temp_dir().join(format!("ch04-security-{}.pw", std::process::id()));
    std::fs::write(
        &file,
        format!("{}\n", kafka_layout::secure::password("alice").unwrap()),
    )
    .unwrap();
    let mut command = binary();
    command
        .arg("connect")
        .env("KAFKA_SECURE_BROKERS", &node.bootstrap)
        .env("KAFKA_SSL_CA_LOCATION", &node.ca)
        .env("KAFKA_SASL_USERNAME", "alice")
        .env_remove("KAFKA_SASL_PASSWORD")
        .env("KAFKA_SASL_PASSWORD_FILE", &file);
    let mut child = ChildProcess::spawn(command);
    let output = child.finish(Duration::from_secs(60));
    let _ = std::fs::remove_file(&file);
    let output = output.unwrap_or_else(|e| panic!("{e}"));
    let fields = summary_of(&output, "connect");
    assert_eq!(fields["user"], "alice");
    assert_eq!(fields["brokers"], "1");
    assert!(!output.contains(&kafka_layout::secure::password("alice").unwrap()));
}

#[test]
fn connect_names_the_missing_variable() {
    let mut command = binary();
    command.arg("connect").env_remove("KAFKA_SECURE_BROKERS");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
    assert_eq!(status.code(), Some(1), "{output}");
    assert!(
        output.contains("error: KAFKA_SECURE_BROKERS is not set"),
        "{output}"
    );
}

#[test]
fn without_the_secured_node_it_says_how_to_start_it() {
    // Another port base: a layout where no secured node was ever started.
    let mut command = binary();
    command.env("KAFKA_PORT_BASE", "29092");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
    assert_eq!(status.code(), Some(3), "{output}");
    assert!(output.contains("cargo xtask kafka up --secure"), "{output}");
    assert!(!output.contains("panicked"), "{output}");
}

#[test]
fn on_the_mock_cluster_it_stops_at_the_first_step() {
    let output = assert_needs_real_broker_on_mock(binary(), Duration::from_secs(30));
    assert!(output.contains("kafka up --secure"), "{output}");
}

#[test]
fn help_names_the_demonstration_and_the_benchmark() {
    let output = binary().arg("--help").output().expect("--help runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    for word in ["demo", "bench", "--brokers"] {
        assert!(text.contains(word), "{word} missing:\n{text}");
    }
}

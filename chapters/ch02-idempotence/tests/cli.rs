//! The chapter binary as a reader runs it.
//!
//! Only the first test starts the proxy (port 9292). The others fail before
//! they would, so they may run alongside it; tests/duplicates.rs runs in
//! another test binary, and cargo runs test binaries one after another.

use std::process::Command;
use std::time::Duration;

use tutorial_lab::testing::{ChildProcess, assert_fails_fast_without_broker, test_cluster};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-idempotence"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

/// The whitespace-separated cells of the table row starting with `first`.
fn row(output: &str, first: &str) -> Vec<String> {
    output
        .lines()
        .map(str::split_whitespace)
        .map(|cells| cells.map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells.first().is_some_and(|c| c == first))
        .unwrap_or_else(|| panic!("no row for {first} in:\n{output}"))
}

#[test]
fn the_chapter_shows_duplicates_without_idempotence_and_none_with_it() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--records", "900"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(180));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    // sent, acknowledged, stored, duplicates, lost, in order, withheld
    let plain = row(&output, "false");
    let idempotent = row(&output, "true");
    assert_eq!(&plain[1..3], ["900", "900"], "{plain:?}");
    assert_ne!(plain[4], "0", "duplicates without idempotence: {plain:?}");
    assert_eq!(plain[5], "0", "nothing lost: {plain:?}");
    assert_eq!(
        &idempotent[1..7],
        ["900", "900", "900", "0", "0", "yes"],
        "{idempotent:?}"
    );
    assert_eq!(plain[7], "3");
    assert_eq!(idempotent[7], "3");
    // librdkafka 2.12 keeps one produce request in flight for an idempotent
    // producer (confluentinc/librdkafka#4989), many without idempotence.
    assert!(
        output.contains("enable.idempotence=true     1 of"),
        "one request in flight with idempotence:\n{output}"
    );
    let plain_in_flight: u32 = output
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("enable.idempotence=false")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no in-flight line without idempotence:\n{output}"));
    assert!(
        plain_in_flight > 5,
        "many in flight without idempotence:\n{output}"
    );
    for absent in ["ERROR", "panicked", "created (unexpected)"] {
        assert!(!output.contains(absent), "{absent:?} in:\n{output}");
    }
}

#[test]
fn an_unreachable_broker_fails_within_15_seconds_naming_the_address_and_the_fix() {
    assert_fails_fast_without_broker(chapter());
}

#[test]
fn without_the_proxied_listener_the_chapter_says_which_broker_setup_provides_it() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--proxied", "localhost:1"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
    assert!(!status.success(), "must exit non-zero:\n{output}");
    for needle in [
        "error: nothing answers on localhost:1",
        "PROXIED",
        "cargo xtask kafka up",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
    assert!(!output.contains("panicked"), "{output}");
}

/// This test deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` fallback, not a claim about Kafka.
#[test]
fn on_the_mock_cluster_the_chapter_shows_the_settings_and_says_what_needs_a_real_broker() {
    let mut command = chapter();
    command.env("KAFKA_BROKERS", "mock");
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(30));
    let output = child.transcript();
    assert!(!status.success(), "the experiment cannot run:\n{output}");
    for needle in [
        "MOCK CLUSTER",
        "acks=1",
        "refused: Client creation error: `acks` must be set to `all`",
        "error: this step needs a real Kafka broker: losing the answer to a write",
        "cargo xtask kafka up",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
    assert!(!output.contains("panicked"), "{output}");
}

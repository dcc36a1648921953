//! The chapter binary as a reader runs it.
//!
//! Only the first test starts the proxy (port 9292). The others fail before
//! they would, so they may run alongside it; tests/duplicates.rs runs in
//! another test binary, and cargo runs test binaries one after another.

use std::process::Command;
use std::time::Duration;
use tutorial_lab::testing::assert_needs_real_broker_on_mock;

use tutorial_lab::testing::{
    ChildProcess, assert_fails_fast_without_broker, summary_of, test_cluster,
};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-idempotence"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

/// Every contradicting setting is refused with idempotence, accepted without.
fn assert_refusals(output: &str) {
    let idempotent = summary_of(output, "incompatible-idempotent");
    let plain = summary_of(output, "incompatible-plain");
    assert_eq!(idempotent.len(), 4, "{idempotent:?}");
    assert!(
        idempotent.values().all(|v| v == "refused"),
        "{idempotent:?}"
    );
    assert!(plain.values().all(|v| v == "created"), "{plain:?}");
}

#[test]
fn the_chapter_shows_duplicates_without_idempotence_and_none_with_it() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--records", "900"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(240));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert_refusals(&output);
    let plain = summary_of(&output, "trial-plain");
    let idempotent = summary_of(&output, "trial-idempotent");
    assert_eq!(
        (plain["sent"].as_str(), plain["acknowledged"].as_str()),
        ("900", "900"),
        "{plain:?}"
    );
    assert_ne!(
        plain["duplicates"], "0",
        "duplicates without idempotence: {plain:?}"
    );
    assert_eq!(plain["lost"], "0", "nothing lost: {plain:?}");
    for (key, value) in [
        ("sent", "900"),
        ("acknowledged", "900"),
        ("stored", "900"),
        ("duplicates", "0"),
        ("lost", "0"),
        ("in_order", "yes"),
    ] {
        assert_eq!(idempotent[key], value, "{key}: {idempotent:?}");
    }
    assert_eq!(plain["withheld"], "3");
    assert_eq!(idempotent["withheld"], "3");
    // ② librdkafka 2.12 lets an idempotent partition start another request
    // only while fewer than 5 of its records are in flight
    // (rdkafka_broker.c); without idempotence every request goes at once.
    let plain = summary_of(&output, "in-flight-plain-p1-b10");
    assert_eq!(plain["connection"], plain["requests"], "{plain:?}");
    for (step, per_partition, connection) in [
        ("in-flight-idempotent-p1-b10", "1", "1"),
        ("in-flight-idempotent-p1-b5", "1", "1"),
        ("in-flight-idempotent-p1-b4", "2", "2"),
        ("in-flight-idempotent-p1-b2", "3", "3"),
        ("in-flight-idempotent-p1-b1", "5", "5"),
        ("in-flight-idempotent-p3-b10", "1", "3"),
    ] {
        let run = summary_of(&output, step);
        assert_eq!(run["per_partition"], per_partition, "{step}: {run:?}");
        assert_eq!(run["connection"], connection, "{step}: {run:?}");
    }
    for absent in ["ERROR", "panicked"] {
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
    let command = chapter();
    let output = assert_needs_real_broker_on_mock(command, Duration::from_secs(30));
    assert!(output.contains("MOCK CLUSTER"), "{output}");
    assert_refusals(&output);
    assert!(
        output.contains("needs a real broker: the fault proxy"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
}

//! The chapter binary as a reader runs it.

use std::process::Command;
use std::time::Duration;

use tutorial_support::testing::{ChildProcess, test_cluster};

#[test]
fn the_chapter_shows_duplicates_without_idempotence_and_none_with_it() {
    let cluster = test_cluster();
    // The proxy port is shared with tests/retries.rs, which runs in another
    // test binary; cargo runs test binaries one after another.
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-idempotence"));
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .env("RUST_LOG", "warn,librdkafka=off")
        .args(["--records", "500"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    let row = |flag: &str| {
        output
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("no row for {flag} in:\n{output}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let off = row("false");
    let on = row("true");
    assert_ne!(off[4], "0", "duplicates without idempotence: {off:?}");
    assert_eq!(on[4], "0", "no duplicates with idempotence: {on:?}");
    assert!(
        !output.contains("ERROR"),
        "expected connection drops are not shown as errors:\n{output}"
    );
}

//! The cost table needs three brokers. `#[ignore]`d in the single-broker
//! phase; the three-node phase of `cargo xtask test` runs it.

use tutorial_lab::testing::test_cluster_with_brokers;
use tutorial_support::parse_summary;

#[test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
fn the_chapter_measures_all_three_settings_on_three_brokers() {
    use std::process::Command;
    use std::time::Duration;
    use tutorial_lab::testing::ChildProcess;
    let cluster = test_cluster_with_brokers(3);
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-acks"));
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .env("RUST_LOG", "warn,librdkafka=off")
        .args(["--records", "2000"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    // acks=0 never learns the offset (librdkafka's invalid offset, -1001);
    // acks=1 and acks=all do.
    let offset = |acks: &str| -> i64 {
        let fields = parse_summary(&output, &format!("cost-acks-{acks}"))
            .unwrap_or_else(|| panic!("no summary: cost-acks-{acks} in:\n{output}"));
        fields["offset"].parse().unwrap()
    };
    assert_eq!(offset("0"), -1001, "{output}");
    assert!(offset("1") >= 0, "{output}");
    assert!(offset("all") >= 0, "{output}");
}

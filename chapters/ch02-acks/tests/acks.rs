//! Single-broker facts about acks.

use ch02_acks::send_and_report_offset;
use tutorial_lab::testing::{TestTopic, test_cluster};

#[tokio::test]
async fn acks_0_never_learns_the_offset_while_acks_1_and_all_do() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-acks0", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    let zero = send_and_report_offset(bootstrap, &topic.name, "0")
        .await
        .unwrap();
    assert_eq!(
        zero, -1001,
        "acks=0: librdkafka's invalid offset, the broker never answered"
    );
    let one = send_and_report_offset(bootstrap, &topic.name, "1")
        .await
        .unwrap();
    let all = send_and_report_offset(bootstrap, &topic.name, "all")
        .await
        .unwrap();
    assert!(
        one >= 0 && all == one + 1,
        "acks=1 then acks=all: offsets {one}, {all}"
    );
}

/// The chapter refuses to run on fewer than three brokers and says how to
/// start them; on three it runs. Either way the outcome is checked.
#[test]
fn the_chapter_needs_three_brokers_and_says_how_to_start_them() {
    use std::process::Command;
    use std::time::Duration;
    use tutorial_lab::testing::ChildProcess;
    let cluster = test_cluster();
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-acks"));
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .env("RUST_LOG", "warn,librdkafka=off")
        .args(["--records", "1000"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    if cluster.brokers().len() < 3 {
        assert!(!status.success(), "{output}");
        assert!(
            output.contains("needs three brokers")
                && output.contains("cargo xtask kafka up --nodes 3"),
            "{output}"
        );
    } else {
        assert!(status.success(), "{output}");
    }
}

//! Single-broker facts about acks.

use std::time::Duration;

use ch02_acks::lab::stored_records;
use ch02_acks::{measure, produce_and_count_acks, send_and_report_offset, throughput};
use tutorial_lab::testing::{TestTopic, test_cluster, within};

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
            output.contains("needs 3 brokers") && output.contains("cargo xtask kafka up --nodes 3"),
            "{output}"
        );
    } else {
        assert!(status.success(), "{output}");
    }
}

/// A record over `message.max.bytes` is refused by librdkafka when it is
/// enqueued; the measurement reports that error at once instead of retrying
/// the send forever (only a full local queue is worth waiting for).
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_record_ends_the_measurement_with_an_error_instead_of_a_retry_loop() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-acks-oversize", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers().to_string();
    let name = topic.name.clone();
    // 2 MB > message.max.bytes (1 000 000 by default).
    let direct = within(
        Duration::from_secs(30),
        "throughput() with a 2 MB record",
        tokio::task::spawn_blocking(move || throughput(&bootstrap, &name, "1", 3, 2_000_000)),
    )
    .await
    .unwrap();
    let error = format!("{:#}", direct.unwrap_err());
    assert!(error.contains("MessageSizeTooLarge"), "{error}");
    let error = within(
        Duration::from_secs(30),
        "measure() with a 2 MB record",
        measure(
            cluster.bootstrap_servers(),
            &topic.name,
            "all",
            3,
            2_000_000,
        ),
    )
    .await
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("MessageSizeTooLarge"),
        "{error:#}"
    );
}

/// The drill's read-back (run on three brokers) checked on one: every
/// acknowledged record number is found, once.
#[tokio::test(flavor = "multi_thread")]
async fn the_drills_read_back_finds_every_acknowledged_record() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-acks-readback", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    let (acknowledged, error) = produce_and_count_acks(bootstrap, &topic.name, "all", 120)
        .await
        .unwrap();
    assert_eq!((acknowledged.len(), error), (120, None));
    let stored = within(
        Duration::from_secs(60),
        "reading the records back",
        stored_records(bootstrap, &topic.name),
    )
    .await
    .unwrap();
    assert_eq!(stored, acknowledged);
}

/// Deliberately uses librdkafka's mock cluster: it checks the
/// `KAFKA_BROKERS=mock` path, which shows the settings and then stops with
/// "needs a real broker" (exit code 3): the mock has no acks semantics.
#[test]
fn on_the_mock_cluster_the_chapter_says_acks_need_a_real_broker() {
    use std::process::Command;
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch02-acks"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    let output =
        tutorial_lab::testing::assert_needs_real_broker_on_mock(command, Duration::from_secs(30));
    assert!(output.contains("needs a real broker: acks"), "{output}");
    assert!(!output.contains("panicked"), "{output}");
}

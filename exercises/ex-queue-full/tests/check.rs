//! Decides `ex-queue-full` on the real broker.

use std::time::Duration;

use ex_queue_full::{send_all, small_queue_producer};
use rdkafka::producer::Producer;
use tutorial_lab::testing::{TestTopic, read_all, test_cluster};

/// 2000 records through a queue of 10: `send` answers QueueFull many times.
/// All 2000 must arrive, once each, in order.
#[tokio::test]
async fn every_record_arrives_once_in_order_through_a_tiny_queue() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ex-queue-full", 1, 1).await;
    let producer = small_queue_producer(cluster.bootstrap_servers(), 10).unwrap();
    let records: Vec<(String, Vec<u8>)> = (0..2000)
        .map(|i| (format!("key-{i}"), format!("record-{i}").into_bytes()))
        .collect();

    let queue_full = tokio::time::timeout(
        Duration::from_secs(60),
        send_all(&producer, &topic.name, &records),
    )
    .await
    .expect("send_all did not finish within 60 s")
    .unwrap_or_else(|e| panic!("send_all gave up: {e:#} — is QueueFull handled?"));
    producer.flush(Duration::from_secs(30)).expect("flush");

    assert!(
        queue_full > 0,
        "the queue of 10 was never full? send_all must count QueueFull answers"
    );
    let read = read_all(&cluster, &topic.name, 2000, Duration::from_secs(60)).await;
    let payloads: Vec<String> = read.into_iter().map(|r| r.payload).collect();
    let expected: Vec<String> = (0..2000).map(|i| format!("record-{i}")).collect();
    assert_eq!(payloads, expected, "records lost, repeated or reordered");
}

/// A record larger than `message.max.bytes` (1 MB by default) is refused by
/// librdkafka at once: `send_all` must report it, not wait for room forever.
#[tokio::test]
async fn a_record_that_can_never_fit_is_an_error_not_a_hang() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ex-queue-full-big", 1, 1).await;
    let producer = small_queue_producer(cluster.bootstrap_servers(), 10).unwrap();
    let records = vec![("big".to_string(), vec![0u8; 2_000_000])];
    let outcome = tokio::time::timeout(
        Duration::from_secs(10),
        send_all(&producer, &topic.name, &records),
    )
    .await
    .expect("send_all hangs on a record that can never be sent: only QueueFull may be retried");
    let error = outcome
        .expect_err("a 2 MB record cannot be enqueued")
        .to_string();
    assert!(error.contains("too large"), "unexpected error: {error}");
}

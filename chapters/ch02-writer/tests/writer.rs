//! Chapter 二.2's claims, proven on a real Apache Kafka broker.

use std::collections::BTreeMap;
use std::time::Duration;

use ch02_writer::lab::{drop_without_flush, lingering_config, queue_records};
use ch02_writer::{async_producer, explain, flush, producer_config, send_async, send_batch};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::FutureProducer;
use tutorial_lab::testing::{Record, TestTopic, read_all, test_cluster};
use tutorial_support::Cluster;

/// Records stored in `topic`: the sum of the partitions' high watermarks.
fn stored(cluster: &Cluster, topic: &TestTopic) -> i64 {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    (0..topic.partitions)
        .map(|p| {
            let (low, high) = client
                .fetch_watermarks(&topic.name, p, Duration::from_secs(10))
                .unwrap();
            high - low
        })
        .sum()
}

/// Within each partition, the sequence numbers in the payloads (`<seq>` or
/// a prefix before ':') must rise with the offset.
fn assert_per_partition_order(records: &[Record], seq_of: impl Fn(&Record) -> u64) {
    let mut by_partition: BTreeMap<i32, Vec<(i64, u64)>> = BTreeMap::new();
    for r in records {
        by_partition
            .entry(r.partition)
            .or_default()
            .push((r.offset, seq_of(r)));
    }
    for (partition, mut entries) in by_partition {
        entries.sort_unstable();
        assert!(
            entries.windows(2).all(|w| w[0].1 < w[1].1),
            "partition {partition} is out of send order"
        );
    }
}

#[tokio::test]
async fn a_synchronous_batch_delivers_every_record_readable_in_per_partition_order() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-sync", 3, 1).await;
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers(), 5, "lz4")
        .create()
        .unwrap();
    let records: Vec<(String, Vec<u8>)> = (0..300)
        .map(|i| (format!("key-{}", i % 7), i.to_string().into_bytes()))
        .collect();
    let results = send_batch(&producer, &topic.name, &records).await;
    assert!(results.iter().all(Result::is_ok), "every record delivered");
    let read = read_all(&cluster, &topic.name, 300, Duration::from_secs(30)).await;
    assert_eq!(read.len(), 300);
    assert_eq!(stored(&cluster, &topic), 300, "no duplicates");
    assert_per_partition_order(&read, |r| r.payload.parse().unwrap());
}

#[tokio::test]
async fn asynchronous_sends_are_all_accounted_for_by_the_delivery_callback() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-async", 3, 1).await;
    let producer = async_producer(&producer_config(cluster.bootstrap_servers(), 5, "lz4")).unwrap();
    let report = send_async(&producer, &topic.name, 5_000, b"payload")
        .await
        .unwrap();
    assert_eq!((report.delivered, report.failed), (5_000, 0));
    assert_eq!(stored(&cluster, &topic), 5_000);
    let read = read_all(&cluster, &topic.name, 5_000, Duration::from_secs(30)).await;
    // The async producer keys records by seq % 16; per key the order holds.
    let mut last: BTreeMap<String, i64> = BTreeMap::new();
    for r in &read {
        let key = r.key.clone().unwrap();
        if let Some(previous) = last.insert(format!("{}-{key}", r.partition), r.offset) {
            assert!(previous < r.offset);
        }
    }
}

#[tokio::test]
async fn a_full_local_queue_makes_send_wait_not_drop() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-queuefull", 1, 1).await;
    let mut config = producer_config(cluster.bootstrap_servers(), 50, "none");
    config.set("queue.buffering.max.messages", "100");
    let producer = async_producer(&config).unwrap();
    let report = send_async(&producer, &topic.name, 5_000, b"payload")
        .await
        .unwrap();
    assert!(
        report.queue_full_waits > 0,
        "a 100-record queue must fill up: {report:?}"
    );
    assert_eq!((report.delivered, report.failed), (5_000, 0));
    assert_eq!(stored(&cluster, &topic), 5_000);
}

#[tokio::test]
async fn a_producer_dropped_without_flush_loses_its_queued_records() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-drop", 1, 1).await;
    // A 10 s linger: the records are still queued when the producer is dropped.
    let config = lingering_config(cluster.bootstrap_servers());
    let producer = queue_records(&config, &topic.name, 500).unwrap();
    let counted = drop_without_flush(producer).unwrap();
    assert_eq!(counted.delivered, 0);
    assert_eq!(counted.failed, 500, "each purged record is reported failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stored(&cluster, &topic), 0, "nothing reached the broker");
}

#[tokio::test]
async fn a_producer_that_flushes_before_drop_loses_nothing() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-flush", 1, 1).await;
    let config = lingering_config(cluster.bootstrap_servers());
    let producer = queue_records(&config, &topic.name, 500).unwrap();
    flush(&producer).await.unwrap();
    let counted = drop_without_flush(producer).unwrap();
    assert_eq!(counted.delivered, 500);
    assert_eq!(stored(&cluster, &topic), 500);
}

#[tokio::test]
async fn a_record_over_message_max_bytes_fails_alone_with_a_clear_error() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-oversize", 1, 1).await;
    let config = producer_config(cluster.bootstrap_servers(), 5, "none");
    let producer: FutureProducer = config.create().unwrap();
    let records: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| {
            let size = if i == 2 { 1_500_000 } else { 100 };
            (format!("k{i}"), vec![b'x'; size])
        })
        .collect();
    let results = send_batch(&producer, &topic.name, &records).await;
    for (i, result) in results.iter().enumerate() {
        if i == 2 {
            let error = result.as_ref().unwrap_err();
            assert_eq!(
                error.rdkafka_error_code(),
                Some(RDKafkaErrorCode::MessageSizeTooLarge)
            );
            let advice = explain(error, 1_500_000, &config);
            assert!(
                advice.contains("1500000 bytes") && advice.contains("message.max.bytes"),
                "{advice}"
            );
        } else {
            assert!(result.is_ok(), "record {i} is unaffected: {result:?}");
        }
    }
    assert_eq!(stored(&cluster, &topic), 4);
}

/// The librdkafka defaults this page names (the settings table, the
/// pitfalls and the kafka-go rows), read from librdkafka itself.
#[test]
fn librdkafka_defaults_named_on_this_page() {
    use tutorial_support::settings::effective;
    let keys = [
        "acks",
        "enable.idempotence",
        "linger.ms",
        "batch.size",
        "batch.num.messages",
        "compression.type",
        "message.timeout.ms",
        "message.max.bytes",
        "queue.buffering.max.messages",
    ];
    let defaults = effective(&ClientConfig::new(), &keys).unwrap();
    let values: Vec<(&str, &str)> = defaults
        .iter()
        .map(|s| (s.key.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("acks", "-1"),
            ("enable.idempotence", "false"),
            ("linger.ms", "5"),
            ("batch.size", "1000000"),
            ("batch.num.messages", "10000"),
            ("compression.type", "none"),
            ("message.timeout.ms", "300000"),
            ("message.max.bytes", "1000000"),
            ("queue.buffering.max.messages", "100000"),
        ]
    );
}

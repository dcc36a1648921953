//! Decides `ex-dead-letter` on the real broker: 10 records, 3 of them not
//! numbers. The 7 numbers are processed; the 3 others land in the DLQ with
//! their key and payload unchanged and headers saying where they came from
//! and why; the group's committed offset is past all 10.

use std::time::Duration;

use ex_dead_letter::{ERROR, OFFSET, PARTITION, TOPIC, consume_with_dlq};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use tutorial_lab::testing::{TestTopic, committed_offset, produce, test_cluster, unique_name};

fn header(message: &impl Message, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
}

#[tokio::test]
async fn poison_records_reach_the_dlq_with_where_they_came_from() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let input = TestTopic::create(&cluster, "ex-dlq-in", 1, 1).await;
    let dlq = TestTopic::create(&cluster, "ex-dlq-dead", 1, 1).await;
    let poison = [2, 5, 9];
    let records = (0..10).map(|i| {
        let payload = if poison.contains(&i) {
            format!("oops-{i}")
        } else {
            i.to_string()
        };
        (Some(format!("key-{i}")), payload)
    });
    produce(&cluster, &input.name, records).await;

    let group = unique_name("ex-dlq");
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.offset.store", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[&input.name]).unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let handle = |payload: &[u8]| -> anyhow::Result<()> {
        std::str::from_utf8(payload)?.parse::<u32>()?;
        Ok(())
    };
    let (processed, dead) = tokio::time::timeout(
        Duration::from_secs(90),
        consume_with_dlq(&consumer, &producer, &dlq.name, 10, handle),
    )
    .await
    .expect("consume_with_dlq did not finish within 90 s")
    .expect("consume_with_dlq");
    assert_eq!((processed, dead), (7, 3));
    drop(consumer);
    assert_eq!(committed_offset(bootstrap, &input.name, &group), Some(10));

    // Read the DLQ from the beginning, without a group.
    let reader: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique_name("ex-dlq-reader"))
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&dlq.name, 0, Offset::Beginning)
        .unwrap();
    reader.assign(&assignment).unwrap();
    for expected in poison {
        let message = tokio::time::timeout(Duration::from_secs(30), reader.recv())
            .await
            .expect("a dead letter within 30 s")
            .unwrap();
        let key = format!("key-{expected}");
        let payload = format!("oops-{expected}");
        assert_eq!(message.key(), Some(key.as_bytes()), "key unchanged");
        assert_eq!(
            message.payload(),
            Some(payload.as_bytes()),
            "payload unchanged"
        );
        assert_eq!(
            header(&message, TOPIC).as_deref(),
            Some(input.name.as_str()),
            "{TOPIC}"
        );
        assert_eq!(
            header(&message, PARTITION).as_deref(),
            Some("0"),
            "{PARTITION}"
        );
        let offset = expected.to_string();
        assert_eq!(
            header(&message, OFFSET).as_deref(),
            Some(offset.as_str()),
            "{OFFSET}"
        );
        let error = header(&message, ERROR).unwrap_or_default();
        assert!(
            error.contains("invalid digit"),
            "{ERROR} should say why: {error:?}"
        );
    }
}

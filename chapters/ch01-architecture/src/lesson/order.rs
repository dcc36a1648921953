//! Keys choose partitions; order holds within a partition, not across.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::time::Instant;

/// One record as sent: its key, its sequence number within the key, and
/// where Kafka put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub key: String,
    pub seq: u32,
    pub partition: i32,
    pub offset: i64,
}

// ANCHOR: producer_config
/// The producer of this chapter. `partitioner` is left at librdkafka's
/// default (`consistent_random`: CRC32 of the key, modulo the partition
/// count; a random partition for records without a key).
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        // Bound the wait: by default librdkafka retries for 5 minutes.
        .set("message.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: produce_keyed
/// Sends `per_key` records for each key, interleaving the keys
/// (alice#0, bob#0, …, alice#1, bob#1, …) so the global send order is known.
///
/// The partition of a keyed record is a hash of its key, so all records of
/// one key land in one partition. Idempotence is on because it also keeps
/// the order of a partition intact when a batch has to be retried.
pub async fn produce_keyed(
    bootstrap: &str,
    topic: &str,
    keys: &[&str],
    per_key: u32,
) -> Result<Vec<Sent>> {
    let producer: FutureProducer = producer_config(bootstrap).create()?;
    let mut deliveries = Vec::new();
    for seq in 0..per_key {
        for key in keys {
            let payload = format!("{key}#{seq}");
            let record = FutureRecord::to(topic).key(*key).payload(&payload);
            // `send_result` enqueues now and hands back the delivery future,
            // so the records are queued in exactly this order.
            let delivery = producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .context("enqueue record")?;
            deliveries.push((key.to_string(), seq, delivery));
        }
    }
    let mut sent = Vec::with_capacity(deliveries.len());
    for (key, seq, delivery) in deliveries {
        let report = tokio::time::timeout(Duration::from_secs(35), delivery)
            .await
            .context("no delivery report within 35 s")?
            .context("producer dropped")?;
        let delivered = report.map_err(|(e, _)| e).context("delivery failed")?;
        sent.push(Sent {
            key,
            seq,
            partition: delivered.partition,
            offset: delivered.offset,
        });
    }
    Ok(sent)
}
// ANCHOR_END: produce_keyed

/// A record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub payload: String,
}

// ANCHOR: read_back
/// Reads `count` records starting at the given offset of each partition,
/// without a consumer group: `assign` names the partitions and offsets
/// explicitly, so nothing is committed and no other consumer is involved.
pub async fn read_back(
    bootstrap: &str,
    topic: &str,
    start: &BTreeMap<i32, i64>,
    count: usize,
) -> Result<Vec<Received>> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka's consumer refuses assign() without a group.id
        // ("Unknown group"), although assign() never joins that group.
        .set("group.id", "ch01-read-back")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for (&partition, &offset) in start {
        assignment.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut received = Vec::with_capacity(count);
    while received.len() < count {
        let message = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .with_context(|| format!("read {} of {count} records within 30 s", received.len()))??;
        let text =
            |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
        received.push(Received {
            partition: message.partition(),
            offset: message.offset(),
            key: text(message.key()),
            payload: text(message.payload()),
        });
    }
    Ok(received)
}
// ANCHOR_END: read_back

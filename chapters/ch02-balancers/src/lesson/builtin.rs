//! librdkafka's built-in partitioners: which hash places a keyed record,
//! and the sticky partitioner for keyless ones.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::ClientConfig;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

/// Bound for a record's delivery report (`message.timeout.ms` + margin).
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(35);

/// librdkafka's partitioners that hash the key (and pick a random partition
/// for a keyless record).
pub const HASHING_PARTITIONERS: [&str; 3] = ["consistent_random", "murmur2_random", "fnv1a_random"];

// ANCHOR: producer_config
/// A producer using one of librdkafka's built-in partitioners:
/// - `consistent_random` (the default): CRC32 of the key; keyless → random;
/// - `murmur2_random`: murmur2 of the key, what the Java client does;
/// - `fnv1a_random`: FNV-1a of the key, what kafka-go's `Hash` and sarama do;
/// - `random`: ignores the key, a random partition for every keyed record.
///
/// "Random" for keyless records is refined by `sticky.partitioning.linger.ms`
/// (default 10 ms) under all four: one random partition is kept for that
/// long, so keyless records fill one batch instead of many small ones.
pub fn producer_config(bootstrap: &str, partitioner: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", partitioner)
        // Bound the wait: by default librdkafka retries for 5 minutes.
        .set("message.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: send_all
/// Sends one record per entry of `keys` (`None` = no key) and returns the
/// partition of each, in send order, from the delivery reports.
///
/// A first record with an explicit partition warms the producer up: until
/// librdkafka has the topic's metadata it cannot run a partitioner at all,
/// and parks records in an "unassigned" queue to partition them later in
/// one go. After the warm-up every record is partitioned the moment it is
/// enqueued, which is what the timing experiments below rely on.
pub async fn send_all(
    config: &ClientConfig,
    topic: &str,
    keys: &[Option<&str>],
    gap: Duration,
) -> Result<Vec<i32>> {
    let producer: FutureProducer = config.create()?;
    let warm_up = FutureRecord::<(), _>::to(topic)
        .partition(0)
        .payload("warm-up");
    await_delivery(producer.send_result(warm_up).map_err(|(e, _)| e)?).await?;

    let mut deliveries = Vec::with_capacity(keys.len());
    for key in keys {
        let payload = key.unwrap_or("-");
        let mut record = FutureRecord::to(topic).payload(payload);
        if let Some(key) = key {
            record = record.key(*key);
        }
        // `send_result` enqueues now (that is when the partition is chosen)
        // and hands back the delivery future. Any error is surfaced; a full
        // queue (QueueFull) cannot happen with a few hundred records, the
        // queue holds 100 000.
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e)?);
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
    }
    let mut partitions = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        partitions.push(await_delivery(delivery).await?);
    }
    Ok(partitions)
}

/// The partition a delivery report names, or why there is none.
pub async fn await_delivery(delivery: DeliveryFuture) -> Result<i32> {
    let report = tokio::time::timeout(DELIVERY_TIMEOUT, delivery)
        .await
        .with_context(|| format!("no delivery report within {DELIVERY_TIMEOUT:?}"))?
        .context("the producer was dropped before the delivery report")?;
    let delivered = report.map_err(|(e, _)| e).context("delivery failed")?;
    Ok(delivered.partition)
}
// ANCHOR_END: send_all

/// Where `partitioner` puts each of `keys`: one record per key.
pub async fn placements(
    bootstrap: &str,
    topic: &str,
    partitioner: &str,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    let config = producer_config(bootstrap, partitioner);
    let with_keys: Vec<Option<&str>> = keys.iter().map(|k| Some(*k)).collect();
    let partitions = send_all(&config, topic, &with_keys, Duration::ZERO).await?;
    Ok(keys
        .iter()
        .map(|k| (*k).to_string())
        .zip(partitions)
        .collect())
}

//! 四.5 exercise: consumer lag from outside the group.
//!
//! Lag is "records written that the group has not committed past": per
//! partition, the end of the log minus the group's committed offset. An
//! operator measures it from outside — without joining the group, which
//! would make it rebalance — the way `kafka-consumer-groups --describe`
//! does. Which "end of the log" you get depends on how you ask.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// A client with the group's id that never subscribes (so the group never
/// rebalances because of it).
pub fn monitor_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false");
    // librdkafka's default isolation.level is read_committed: ListOffsets
    // then answers with the last stable offset, which an open transaction
    // holds back. Kafka's tool measures to the high watermark.
    config.set("isolation.level", "read_uncommitted");
    config
}

/// The lag of `group` on each of `partitions` of `topic`; `None` where the
/// group never committed. Blocking calls: run it off the async runtime.
pub fn lag(
    monitor: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, Option<i64>>> {
    let timeout = Duration::from_secs(10);
    let mut wanted = TopicPartitionList::new();
    for &partition in partitions {
        wanted.add_partition(topic, partition);
    }
    let committed = monitor.committed_offsets(wanted, timeout)?;
    let mut lags = BTreeMap::new();
    for &partition in partitions {
        let (_low, end) = monitor.fetch_watermarks(topic, partition, timeout)?;
        let lag = match committed
            .find_partition(topic, partition)
            .map(|e| e.offset())
        {
            Some(Offset::Offset(offset)) => Some(end - offset),
            _ => None,
        };
        lags.insert(partition, lag);
    }
    Ok(lags)
}

//! Consumer lag measured from outside the group: the group's committed
//! offset against the partition's high watermark, asked from the brokers
//! now — what `kafka-consumer-groups --describe` prints, and what keeps
//! moving when the group's own members stop fetching.
//!
//! rdkafka 0.39's admin client has no ListOffsets or
//! ListConsumerGroupOffsets, so a plain consumer that never subscribes asks
//! instead: `committed_offsets` (OffsetFetch to the group coordinator) and
//! `fetch_watermarks` (ListOffsets to the partition leader). Both calls
//! block: run them on a blocking thread, not on the async runtime.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};

/// One partition's lag as the brokers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionLag {
    pub partition: i32,
    /// The group's committed offset; `None` if it never committed here.
    pub committed: Option<i64>,
    pub high_watermark: i64,
}

impl PartitionLag {
    /// Records the group has not committed past. Unknown (`None`) without
    /// a commit, like the `-` in Kafka's tool.
    pub fn lag(&self) -> Option<i64> {
        self.committed.map(|c| self.high_watermark - c)
    }
}

// ANCHOR: lag_monitor
/// A client that reads `group`'s offsets without joining it: the same
/// `group.id`, but it never subscribes, so the group never rebalances
/// because of it.
///
/// `fetch_watermarks` asks ListOffsets with the client's own
/// `isolation.level`, and librdkafka's default, read_committed, makes the
/// broker answer with the last stable offset instead of the high
/// watermark. An open transaction holds the LSO back — and with it every
/// read_committed consumer — so a lag measured against it stands still
/// while records pile up behind the transaction. read_uncommitted asks for
/// the high watermark, the end Kafka's own tool measures to.
pub fn lag_monitor(bootstrap: &str, group: &str) -> KafkaResult<BaseConsumer> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_uncommitted")
        .create()
}

/// Committed offset and high watermark of each of `partitions`, now.
pub fn lag_now(
    monitor: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
    timeout: Duration,
) -> KafkaResult<Vec<PartitionLag>> {
    let mut wanted = TopicPartitionList::new();
    for &partition in partitions {
        wanted.add_partition(topic, partition);
    }
    let committed = monitor.committed_offsets(wanted, timeout)?;
    let mut lags = Vec::with_capacity(partitions.len());
    for &partition in partitions {
        let committed = match committed
            .find_partition(topic, partition)
            .map(|e| e.offset())
        {
            Some(Offset::Offset(offset)) => Some(offset),
            _ => None, // Offset::Invalid: nothing committed
        };
        let (_low, high_watermark) = monitor.fetch_watermarks(topic, partition, timeout)?;
        lags.push(PartitionLag {
            partition,
            committed,
            high_watermark,
        });
    }
    Ok(lags)
}
// ANCHOR_END: lag_monitor

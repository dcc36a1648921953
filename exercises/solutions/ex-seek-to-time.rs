//! 三.1 exercise: replay "everything since 10:00".
//!
//! Offsets are positions, not times. To replay from a point in time, ask
//! the broker which offset that time corresponds to: the first record whose
//! timestamp is at or after it (a ListOffsets request by timestamp). Then
//! assign the partition at that offset, without a group.

use std::time::Duration;

use anyhow::{Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// The offset of the first record of `topic`/`partition` whose timestamp is
/// at or after `timestamp_ms`; `None` if every record is older.
pub fn first_offset_since(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    timestamp_ms: i64,
) -> Result<Option<i64>> {
    let mut query = TopicPartitionList::new();
    // In this query the "offset" field carries the timestamp.
    query.add_partition_offset(topic, partition, Offset::Offset(timestamp_ms))?;
    let found = consumer.offsets_for_times(query, Duration::from_secs(10))?;
    match found.elements().first().map(|e| e.offset()) {
        Some(Offset::Offset(offset)) => Ok(Some(offset)),
        // No record that new: the broker answers with the end (-1).
        Some(Offset::End) => Ok(None),
        other => bail!("unexpected answer for {topic}/{partition}: {other:?}"),
    }
}

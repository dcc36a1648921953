//! 三.1 exercise: replay "everything since 10:00".
//!
//! Offsets are positions, not times. To replay from a point in time, ask
//! the broker which offset that time corresponds to: the first record whose
//! timestamp is at or after it (a ListOffsets request by timestamp). Then
//! assign the partition at that offset, without a group.

#[allow(unused_imports)] // for the TODO
use std::time::Duration;

#[allow(unused_imports)] // for the TODO
use anyhow::{Result, bail};
#[allow(unused_imports)] // for the TODO
use rdkafka::consumer::{BaseConsumer, Consumer};
#[allow(unused_imports)] // for the TODO
use rdkafka::{Offset, TopicPartitionList};

/// The offset of the first record of `topic`/`partition` whose timestamp is
/// at or after `timestamp_ms`; `None` if every record is older.
pub fn first_offset_since(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    timestamp_ms: i64,
) -> Result<Option<i64>> {
    // TODO: ask the broker with `consumer.offsets_for_times(query, timeout)`.
    // The query is a TopicPartitionList with one entry for the partition —
    // but what goes where the offset usually is? Map the answer: a real
    // offset → Some(offset); `Offset::End` (no record that new) → None.
    let _ = (consumer, topic, partition, timestamp_ms);
    todo!("first_offset_since")
}

//! 四.4 exercise: the input offsets belong in the transaction.
//!
//! A read-process-write loop is exactly-once only if "these outputs were
//! written" and "these inputs were consumed" become true together. The
//! producer's transaction carries both: the output records, and — through
//! `send_offsets_to_transaction` — the consumer group's new offsets. Commit
//! and both count; abort and neither does.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// Bound for each transactional call.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Adds the consumer's progress on `topic` to the producer's open
/// transaction. `last` holds, per partition, the offset of the last record
/// processed in this transaction.
pub fn send_offsets(
    producer: &BaseProducer,
    consumer: &BaseConsumer,
    topic: &str,
    last: &BTreeMap<i32, i64>,
) -> Result<()> {
    // The group's committed offset is the next record to read.
    let mut offsets = TopicPartitionList::new();
    for (partition, offset) in last {
        offsets.add_partition_offset(topic, *partition, Offset::Offset(offset + 1))?;
    }
    // Asked now: it carries the member id and generation (KIP-447).
    let group = consumer
        .group_metadata()
        .context("the consumer has no group.id")?;
    producer.send_offsets_to_transaction(&offsets, &group, TIMEOUT)?;
    Ok(())
}

//! 四.4 exercise: the input offsets belong in the transaction.
//!
//! A read-process-write loop is exactly-once only if "these outputs were
//! written" and "these inputs were consumed" become true together. The
//! producer's transaction carries both: the output records, and — through
//! `send_offsets_to_transaction` — the consumer group's new offsets. Commit
//! and both count; abort and neither does.

use std::collections::BTreeMap;
use std::time::Duration;

#[allow(unused_imports)] // for the TODO
use anyhow::{Context, Result};
#[allow(unused_imports)] // for the TODO
use rdkafka::consumer::{BaseConsumer, Consumer};
#[allow(unused_imports)] // for the TODO
use rdkafka::producer::{BaseProducer, Producer};
#[allow(unused_imports)] // for the TODO
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
    // TODO: build a TopicPartitionList with the group's new offset for each
    // partition of `topic` (which offset does a group commit: the last one
    // processed, or the next one to read?), get the consumer's group
    // metadata, and hand both to the producer's `send_offsets_to_transaction`.
    // Do not commit through the consumer: that would not be part of the
    // transaction.
    let _ = (producer, consumer, topic, last);
    todo!("send_offsets")
}

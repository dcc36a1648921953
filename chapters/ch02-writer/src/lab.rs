//! The lab of 二.2: why a producer must be flushed before it goes away.
//!
//! A long `linger.ms` keeps records in librdkafka's local queue, as a burst
//! written just before shutdown would be; then the producer is dropped
//! without `flush`. rust-rdkafka purges the queue on drop, and the delivery
//! callback of [`crate::lesson::DeliveryCounter`] reports every purged record
//! as failed — without the callback they would vanish without a trace.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseRecord, Producer};

use crate::lesson::{AsyncProducer, async_producer, producer_config};

/// The linger that keeps the drill's records queued: far longer than the drill.
pub const LONG_LINGER_MS: u32 = 10_000;

/// A producer whose records stay queued: [`producer_config`] with a
/// [`LONG_LINGER_MS`] linger and no compression.
pub fn lingering_config(bootstrap: &str) -> ClientConfig {
    producer_config(bootstrap, LONG_LINGER_MS, "none")
}

/// Enqueues `count` records (payload `late`, key `late`) and returns the
/// producer with the records still in its queue.
pub fn queue_records(config: &ClientConfig, topic: &str, count: u64) -> Result<Arc<AsyncProducer>> {
    let producer = async_producer(config)?;
    for seq in 0..count {
        let record = BaseRecord::with_opaque_to(topic, Box::new(seq))
            .key("late")
            .payload("late");
        producer
            .send(record)
            .map_err(|(error, _)| error)
            .with_context(|| format!("queueing record #{seq}"))?;
    }
    Ok(producer)
}

/// What the delivery callback counted once the producer was gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub delivered: u64,
    pub failed: u64,
}

/// Drops the producer without `flush` and returns what its delivery
/// callback counted: the purged records arrive there as failures.
pub fn drop_without_flush(producer: Arc<AsyncProducer>) -> Result<Counted> {
    let counter = Arc::clone(producer.context());
    // The last handle: dropping it really destroys the producer (and purges).
    let producer = Arc::into_inner(producer)
        .context("another handle keeps the producer alive, so dropping this one purges nothing")?;
    drop(producer);
    Ok(Counted {
        delivered: counter.delivered.load(Ordering::Relaxed),
        failed: counter.failed.load(Ordering::Relaxed),
    })
}

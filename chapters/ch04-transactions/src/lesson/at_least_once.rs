//! The same read-process-write loop without a transaction, for contrast:
//! produce, wait for the acknowledgements, then commit the input offsets.
//! Nothing is lost, but a crash between the produce and the commit makes
//! the next instance process (and write) that batch again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::batching::{Options, Stage, Totals, send, transform};
use super::producer::CALL_TIMEOUT;

/// An idempotent producer: no duplicates from its own retries — the
/// duplicates this loop can make come from re-processing after a crash.
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true");
    config
}

// ANCHOR: run
/// Read, transform, produce; every `commit_every` (or `max_batch` records)
/// flush and then commit the offsets: the commit comes *after* the output
/// is acknowledged, so a crash can repeat output but never lose it.
pub fn run(
    consumer: &BaseConsumer,
    producer: &BaseProducer,
    options: &Options,
    stop: &AtomicBool,
    mut on_stage: impl FnMut(Stage),
) -> Result<Totals> {
    let mut totals = Totals::default();
    let mut next: HashMap<(String, i32), i64> = HashMap::new();
    let (mut records, mut started, mut last_input) = (0, Instant::now(), Instant::now());
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                if next.is_empty() {
                    started = Instant::now();
                }
                last_input = Instant::now();
                let value = transform(message.payload().unwrap_or_default());
                let mut record = BaseRecord::to(&options.output).payload(&value);
                if let Some(key) = message.key() {
                    record = record.key(key);
                }
                send(producer, record)?;
                let position = (message.topic().to_string(), message.partition());
                next.insert(position, message.offset() + 1);
                records += 1;
            }
            Some(Err(error)) => tracing::warn!("consumer: {error}"),
            // Idle time counts only while partitions are assigned (joining a
            // group after a crashed member can take its session timeout).
            // `assignment()` asks librdkafka's main thread: not per record.
            None if consumer.assignment().is_ok_and(|a| a.count() > 0) => {}
            None => last_input = Instant::now(),
        }
        let stopping = stop.load(Ordering::Relaxed);
        let due = records >= options.max_batch || started.elapsed() >= options.commit_every;
        if !next.is_empty() && (due || stopping) {
            producer.flush(CALL_TIMEOUT)?;
            on_stage(Stage::Produced);
            let mut offsets = TopicPartitionList::new();
            for ((topic, partition), offset) in next.drain() {
                offsets.add_partition_offset(&topic, partition, Offset::Offset(offset))?;
            }
            consumer.commit(&offsets, CommitMode::Sync)?;
            on_stage(Stage::Committed);
            totals.records += records;
            totals.transactions += 1;
            records = 0;
        }
        let idle = options
            .idle_exit
            .is_some_and(|limit| last_input.elapsed() >= limit);
        if next.is_empty() && (stopping || idle) {
            return Ok(totals);
        }
    }
}
// ANCHOR_END: run

//! Exactly-once read-process-write: consume, transform, produce, and commit
//! the output records *and* the input offsets in one transaction.
//!
//! The transactional calls block (up to [`CALL_TIMEOUT`] each), so this loop
//! is synchronous — a `BaseConsumer` polled with a timeout — and runs on its
//! own thread (`std::thread::spawn` or `tokio::task::spawn_blocking`), never
//! on an async runtime's worker threads.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rdkafka::consumer::{
    BaseConsumer, Consumer, ConsumerContext, ConsumerGroupMetadata, Rebalance,
};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use super::batching::{Options, Stage, Totals, send, transform};
use super::producer::{CALL_TIMEOUT, Class, abort, classify, or_exit, retrying};

// ANCHOR: consumer_config
/// The input side: a group member that never commits on its own.
pub fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        // The offsets are committed by the producer's transaction, never by
        // the consumer: an auto-commit would move them outside of it.
        .set("enable.auto.commit", "false")
        // Read only what other transactions committed (librdkafka's default,
        // said out loud: our input may itself be a transactional output).
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest")
        // A killed member keeps its partitions until its session expires;
        // 6 s is the broker's minimum (group.min.session.timeout.ms).
        .set("session.timeout.ms", "6000");
    config
}
// ANCHOR_END: consumer_config

/// The open transaction: for each input partition, the next offset to read
/// (the last processed offset + 1, what the group should resume from).
#[derive(Debug, Default)]
pub struct Batch {
    next: HashMap<(String, i32), i64>,
    records: u64,
    started: Option<Instant>,
}

// ANCHOR: context
/// The consumer's context owns the transactional producer, so that the
/// rebalance callback can end the open transaction before the partitions
/// move to another member.
pub struct Pipeline {
    pub producer: BaseProducer,
    open: Mutex<Option<Batch>>,
}

impl ClientContext for Pipeline {}

impl ConsumerContext for Pipeline {
    /// Called inside `poll`, before partitions are taken away: commit what
    /// was processed, so the next owner starts after it — or abort if the
    /// assignment is already lost, so the next owner redoes it.
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(_) = rebalance else {
            return;
        };
        let Some(batch) = self.take_open() else {
            return;
        };
        let committed = match consumer.group_metadata() {
            Some(group) if !consumer.assignment_lost() => {
                commit(&self.producer, &batch, &group, &mut |_| {})
            }
            _ => Err(KafkaError::Rebalance(RDKafkaErrorCode::AssignmentLost)),
        };
        if let Err(error) = committed {
            tracing::warn!("on revoke: {error}; aborting the open transaction");
            if let Err(error) = abort(&self.producer) {
                tracing::error!("on revoke: abort failed: {error}");
            }
        }
    }
}
// ANCHOR_END: context

impl Pipeline {
    pub fn new(producer: BaseProducer) -> Pipeline {
        Pipeline {
            producer,
            open: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Batch>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_open(&self) -> Option<Batch> {
        self.lock().take()
    }
}

// ANCHOR: run
/// The read-process-write loop. Each record is transformed and sent inside
/// the open transaction; every `commit_every` (or `max_batch` records) the
/// transaction is committed with the input offsets. Returns when `stop` is
/// set or the input stayed idle for `idle_exit`; returns an error when the
/// producer is unusable (fatal, or retries used up): then create a new
/// instance with the same `transactional.id`.
pub fn run(
    consumer: &BaseConsumer<Pipeline>,
    options: &Options,
    stop: &AtomicBool,
    mut on_stage: impl FnMut(Stage),
) -> Result<Totals> {
    let pipeline = consumer.context();
    let mut totals = Totals::default();
    let mut last_input = Instant::now();
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                last_input = Instant::now();
                process(pipeline, &options.output, &message)?;
            }
            Some(Err(error)) => tracing::warn!("consumer: {error}"),
            // Idle time counts only while partitions are assigned (joining a
            // group after a crashed member can take its session timeout).
            // `assignment()` asks librdkafka's main thread: not per record.
            None if consumer.assignment().is_ok_and(|a| a.count() > 0) => {}
            None => last_input = Instant::now(),
        }
        let due = pipeline.lock().as_ref().is_some_and(|batch| {
            batch.records >= options.max_batch
                || batch
                    .started
                    .is_some_and(|t| t.elapsed() >= options.commit_every)
                || stop.load(Ordering::Relaxed)
        });
        if due && let Some(batch) = pipeline.take_open() {
            end_transaction(consumer, &batch, &mut totals, &mut on_stage)?;
        }
        let idle = options
            .idle_exit
            .is_some_and(|limit| last_input.elapsed() >= limit);
        if pipeline.lock().is_none() && (stop.load(Ordering::Relaxed) || idle) {
            return Ok(totals);
        }
    }
}

/// Transforms one record and sends the result inside the open transaction
/// (beginning one if none is open).
fn process(pipeline: &Pipeline, output: &str, message: &BorrowedMessage<'_>) -> Result<()> {
    let mut open = pipeline.lock();
    if open.is_none() {
        pipeline.producer.begin_transaction()?;
    }
    let batch = open.get_or_insert_with(|| Batch {
        started: Some(Instant::now()),
        ..Batch::default()
    });
    let value = transform(message.payload().unwrap_or_default());
    let mut record = BaseRecord::to(output).payload(&value);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    send(&pipeline.producer, record)?;
    let position = (message.topic().to_string(), message.partition());
    batch.next.insert(position, message.offset() + 1);
    batch.records += 1;
    Ok(())
}
// ANCHOR_END: run

// ANCHOR: end_transaction
/// Commits the batch; on an abortable error aborts it and rewinds the
/// consumer; returns any other error (the instance is done).
fn end_transaction(
    consumer: &BaseConsumer<Pipeline>,
    batch: &Batch,
    totals: &mut Totals,
    on_stage: &mut dyn FnMut(Stage),
) -> Result<()> {
    // Asked for now, not once at start-up: it carries the member id and the
    // generation, which every rebalance changes, and the group coordinator
    // rejects offsets sent with an old generation (KIP-447).
    let group = consumer
        .group_metadata()
        .context("the input consumer has no group.id")?;
    let producer = &consumer.context().producer;
    match commit(producer, batch, &group, on_stage) {
        Ok(()) => {
            totals.records += batch.records;
            totals.transactions += 1;
            on_stage(Stage::Committed);
            Ok(())
        }
        Err(error) if classify(&error) == Class::Abort => {
            tracing::warn!("transaction aborted: {error}");
            abort(producer)?;
            rewind(consumer)?;
            totals.aborts += 1;
            on_stage(Stage::Aborted);
            Ok(())
        }
        Err(error) => Err(error).context("the transactional producer cannot go on"),
    }
}

/// Flush, put the input offsets into the transaction, commit.
fn commit(
    producer: &BaseProducer,
    batch: &Batch,
    group: &ConsumerGroupMetadata,
    on_stage: &mut dyn FnMut(Stage),
) -> KafkaResult<()> {
    // rdkafka's commit_transaction(t) flushes with t and then commits with t
    // (up to 2t in all), and a flush timeout comes back as KafkaError::Flush
    // without the transactional flags. Flushing first makes each bound, and
    // each error, our own.
    producer.flush(CALL_TIMEOUT)?;
    on_stage(Stage::Produced);
    // The *next* offset to read: last processed + 1 (store_offset adds the
    // 1 itself; this call does not).
    let mut offsets = TopicPartitionList::new();
    for ((topic, partition), next) in &batch.next {
        offsets.add_partition_offset(topic, *partition, Offset::Offset(*next))?;
    }
    // librdkafka may not bound this call when a broker dies: see `or_exit`.
    retrying(|| {
        or_exit(CALL_TIMEOUT * 3, "send_offsets_to_transaction", || {
            producer.send_offsets_to_transaction(&offsets, group, CALL_TIMEOUT)
        })
    })?;
    on_stage(Stage::OffsetsSent);
    retrying(|| producer.commit_transaction(CALL_TIMEOUT))
}
// ANCHOR_END: end_transaction

// ANCHOR: rewind
/// After an abort the output of the batch is gone (for `read_committed`
/// readers), so its input must be read again: seek every assigned
/// partition back to the group's committed offset.
pub fn rewind<C: ConsumerContext>(consumer: &BaseConsumer<C>) -> Result<()> {
    let committed = consumer.committed(CALL_TIMEOUT)?;
    let mut positions = TopicPartitionList::new();
    for partition in committed.elements() {
        let offset = match partition.offset() {
            Offset::Offset(offset) => Offset::Offset(offset),
            // Nothing committed yet: auto.offset.reset=earliest.
            _ => Offset::Beginning,
        };
        positions.add_partition_offset(partition.topic(), partition.partition(), offset)?;
    }
    for partition in consumer
        .seek_partitions(positions, CALL_TIMEOUT)?
        .elements()
    {
        partition.error()?;
    }
    Ok(())
}
// ANCHOR_END: rewind

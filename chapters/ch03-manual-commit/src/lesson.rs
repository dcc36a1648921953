//! Chapter 三.2's lesson: offsets that mean "processed".
//!
//! A consumer group remembers, per partition, the offset of the next record
//! to read: the committed offset. Whether a crash loses records or repeats
//! them depends only on *when* that offset moves relative to processing.
//! Three patterns, each a complete read loop you can copy: the defaults
//! (auto-commit), (a) storing the offset after processing while the
//! background auto-commit sends it, and (b) a synchronous commit after
//! processing.
//!
//! `process` is your processing step (a database write, a call to another
//! service): an async closure that gets each record and may fail.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::BorrowedMessage;
use tokio_util::sync::CancellationToken;

// ANCHOR: group_member
/// What the three patterns share: a member of `group` that starts at the
/// beginning when the group has no committed offset yet.
pub fn group_member(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // A member that dies without leaving keeps its partitions until the
        // coordinator misses its heartbeats for session.timeout.ms (librdkafka
        // default 45 s). 6 s (the broker's minimum) makes the crash drills quick.
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "2000");
    config
}
// ANCHOR_END: group_member

// ANCHOR: auto_commit
/// The defaults (librdkafka's): `enable.auto.offset.store=true` stores
/// a record's offset+1 when `recv` hands it out, `enable.auto.commit=true`
/// commits what is stored every `auto.commit.interval.ms` (5 s) in the
/// background. The offset can move past a record before it is processed:
/// at-most-once on a crash.
pub fn auto_commit_config(bootstrap: &str, group: &str) -> ClientConfig {
    group_member(bootstrap, group)
}

pub async fn consume_auto_commit<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    stop: &CancellationToken,
    mut process: impl AsyncFnMut(&BorrowedMessage<'_>) -> Result<()>,
) -> Result<u64> {
    let mut processed = 0;
    loop {
        let message = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            message = consumer.recv() => message?,
        };
        // Its offset is already stored; nothing to do after processing.
        process(&message).await?;
        processed += 1;
    }
    commit_and_leave(consumer)?;
    Ok(processed)
}
// ANCHOR_END: auto_commit

// ANCHOR: store_after_processing
/// (a) Store after processing: `enable.auto.offset.store=false`, and
/// `store_offset_from_message` (offset+1) once a record is processed; the
/// background auto-commit sends what is stored. At-least-once; the number of
/// commits does not grow with the number of records.
pub fn store_after_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = group_member(bootstrap, group);
    config.set("enable.auto.offset.store", "false");
    config
}

pub async fn consume_and_store<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    stop: &CancellationToken,
    mut process: impl AsyncFnMut(&BorrowedMessage<'_>) -> Result<()>,
) -> Result<u64> {
    let mut processed = 0;
    loop {
        let message = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            message = consumer.recv() => message?,
        };
        process(&message).await?;
        consumer.store_offset_from_message(&message)?;
        processed += 1;
    }
    commit_and_leave(consumer)?;
    Ok(processed)
}
// ANCHOR_END: store_after_processing

// ANCHOR: commit_after_processing
/// (b) Commit after processing: `enable.auto.commit=false`, and a
/// synchronous commit of offset+1 once a record is processed — the broker
/// has it before the next record is read. At-least-once; one round trip
/// per record.
pub fn manual_commit_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = group_member(bootstrap, group);
    config.set("enable.auto.commit", "false");
    config
}

pub async fn consume_and_commit<C: ConsumerContext + 'static>(
    consumer: &StreamConsumer<C>,
    stop: &CancellationToken,
    mut process: impl AsyncFnMut(&BorrowedMessage<'_>) -> Result<()>,
) -> Result<u64> {
    let mut processed = 0;
    loop {
        let message = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            message = consumer.recv() => message?,
        };
        process(&message).await?;
        consumer.commit_message(&message, CommitMode::Sync)?;
        processed += 1;
    }
    // Every processed record is committed already.
    consumer.unsubscribe();
    Ok(processed)
}
// ANCHOR_END: commit_after_processing

// ANCHOR: on_shutdown
/// Leaving on purpose (Ctrl-C, SIGTERM, end of input): commit what is
/// stored, synchronously, before leaving the group, so the next member
/// starts exactly after the last processed record instead of at the last
/// background commit.
pub fn commit_and_leave<C: ConsumerContext + 'static>(consumer: &StreamConsumer<C>) -> Result<()> {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => {}
        // Nothing stored since the last commit: nothing to do.
        Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset) => {}
        Err(e) => return Err(e).context("final commit"),
    }
    consumer.unsubscribe();
    Ok(())
}
// ANCHOR_END: on_shutdown

// ANCHOR: dedupe
/// At-least-once means a record may come twice, so processing must be
/// idempotent. The simplest form: remember the highest offset applied per
/// partition and skip anything at or below it. (A database would keep this
/// memory in the same transaction as the data it writes.)
#[derive(Debug, Default)]
pub struct Deduplicator {
    applied_up_to: BTreeMap<i32, i64>,
}

impl Deduplicator {
    /// `true` if the record at `partition`/`offset` has not been applied yet
    /// (and remembers it as applied).
    pub fn first_time(&mut self, partition: i32, offset: i64) -> bool {
        let last = self.applied_up_to.entry(partition).or_insert(-1);
        if offset > *last {
            *last = offset;
            true
        } else {
            false
        }
    }
}
// ANCHOR_END: dedupe

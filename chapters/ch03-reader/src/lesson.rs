//! Chapter 三.1's lesson: consumers, consumer groups and the read loop.
//!
//! Two ways to read: join a group and let the coordinator hand out
//! partitions (`subscribe`), or name partitions and offsets yourself
//! (`assign`). And one setting that decides between a work queue and
//! publish–subscribe: `group.id`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::OwnedMessage;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// Bound for single requests to the cluster.
pub const TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: group_config
/// A group member. `auto.offset.reset` decides where a group that has no
/// committed offset for a partition starts: librdkafka's default is the
/// end (`latest`) — pass `None` to keep it — or the beginning (`earliest`).
pub fn group_config(bootstrap: &str, group: &str, reset: Option<&str>) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        // Store offsets only for records the loop has processed (三.2).
        .set("enable.auto.offset.store", "false");
    if let Some(reset) = reset {
        config.set("auto.offset.reset", reset);
    }
    config
}
// ANCHOR_END: group_config

/// Subscribes a new group member to `topic`.
pub fn join(
    bootstrap: &str,
    topic: &str,
    group: &str,
    reset: Option<&str>,
) -> Result<StreamConsumer> {
    let consumer: StreamConsumer = group_config(bootstrap, group, reset).create()?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

// ANCHOR: read_loop
/// The read loop: `recv().await` until `stop` is cancelled. Each record is
/// processed, then its offset stored; on the way out the stored offsets are
/// committed synchronously and the member leaves the group, so its
/// partitions move to the others at once instead of after a session timeout.
pub async fn read_loop(
    consumer: &StreamConsumer,
    stop: &CancellationToken,
    mut process: impl FnMut(&OwnedMessage),
) -> Result<usize> {
    let mut processed = 0;
    loop {
        let message = tokio::select! {
            message = consumer.recv() => message?,
            () = stop.cancelled() => break,
        };
        process(&message.detach());
        consumer.store_offset_from_message(&message)?;
        processed += 1;
    }
    leave(consumer)?;
    Ok(processed)
}

/// Commit what was processed, then leave the group.
pub fn leave(consumer: &StreamConsumer) -> Result<()> {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => {}
        // Nothing processed since the last commit: nothing to commit.
        Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset) => {}
        Err(e) => return Err(e).context("committing on the way out"),
    }
    consumer.unsubscribe();
    Ok(())
}
// ANCHOR_END: read_loop

// ANCHOR: stream_form
/// The same loop as a `Stream`: `stream()` yields records until the
/// consumer is dropped; `take_until` ends it on `stop`.
pub async fn read_stream(
    consumer: &StreamConsumer,
    stop: &CancellationToken,
    limit: usize,
) -> Result<Vec<OwnedMessage>> {
    let records: Vec<OwnedMessage> = consumer
        .stream()
        .take_until(stop.cancelled())
        .take(limit)
        .map(|message| message.map(|m| m.detach()))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    Ok(records)
}
// ANCHOR_END: stream_form

// ANCHOR: assign_at_offset
/// A consumer that reads without a group: nothing is coordinated or
/// committed. (librdkafka still wants a `group.id` to accept `assign`; it
/// never joins it.)
fn groupless(bootstrap: &str) -> Result<StreamConsumer> {
    let consumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ch03-reader-assign")
        .set("enable.auto.commit", "false")
        .create()?;
    Ok(consumer)
}

/// No group: name the partition and the offset. This is how a tool replays
/// or inspects a partition.
pub async fn read_from_offset(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<OwnedMessage> {
    let consumer = groupless(bootstrap)?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    consumer.assign(&assignment)?;
    let message = tokio::time::timeout(TIMEOUT, consumer.recv())
        .await
        .context("no record within 10 s")??;
    Ok(message.detach())
}
// ANCHOR_END: assign_at_offset

// ANCHOR: seek_to_time
/// Where does "everything since 10:00" start? `offsets_for_times` asks the
/// broker for the first offset whose timestamp is at or after the given
/// time (ListOffsets by timestamp); then read from there.
pub async fn read_from_time(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    timestamp_ms: i64,
) -> Result<OwnedMessage> {
    let consumer = groupless(bootstrap)?;
    let mut query = TopicPartitionList::new();
    // In a query, the "offset" field carries the timestamp.
    query.add_partition_offset(topic, partition, Offset::Offset(timestamp_ms))?;
    let found = consumer.offsets_for_times(query, TIMEOUT)?;
    let offset = match found.elements().first().map(|e| e.offset()) {
        Some(Offset::Offset(offset)) => offset,
        other => bail!("no record at or after {timestamp_ms} in {topic}/{partition} ({other:?})"),
    };
    read_from_offset(bootstrap, topic, partition, offset).await
}
// ANCHOR_END: seek_to_time

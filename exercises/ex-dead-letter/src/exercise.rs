//! 四.3 exercise: a poison record goes to the dead-letter topic — with
//! where it came from and why, so someone can find, fix and replay it.
//!
//! The consumer loop and the send are written; what is missing are the
//! headers that make a dead letter useful. Without them a DLQ is a pile of
//! payloads nobody can trace back.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
#[allow(unused_imports)] // `Header`: for the TODO
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Header names on dead-letter records (the same as in 四.3's lesson).
pub const TOPIC: &str = "dlq.original.topic";
pub const PARTITION: &str = "dlq.original.partition";
pub const OFFSET: &str = "dlq.original.offset";
pub const ERROR: &str = "dlq.error";

/// The headers of a dead letter: the original topic, partition and offset
/// (as decimal text) and the error message.
pub fn dead_letter_headers(message: &BorrowedMessage<'_>, error: &str) -> OwnedHeaders {
    // TODO: build the four headers with `OwnedHeaders::new().insert(Header { key, value })`:
    // TOPIC = message.topic(), PARTITION and OFFSET as decimal text, ERROR = error.
    // (`Header` values borrow: make the strings first, then insert.)
    let _ = (message, error);
    todo!("dead_letter_headers")
}

/// Copies `message` (key and payload unchanged) to `dlq` with the dead-letter
/// headers and waits for the broker's acknowledgement: only then may the
/// consumer move past it.
pub async fn dead_letter(
    producer: &FutureProducer,
    dlq: &str,
    message: &BorrowedMessage<'_>,
    error: &str,
) -> Result<()> {
    let mut record = FutureRecord::to(dlq).headers(dead_letter_headers(message, error));
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    if let Some(payload) = message.payload() {
        record = record.payload(payload);
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)
        .with_context(|| format!("writing offset {} to {dlq}", message.offset()))?;
    Ok(())
}

/// Handles `expected` records: `handle` succeeds → processed; fails → dead
/// letter. The offset is stored either way (the consumer is configured with
/// `enable.auto.offset.store=false`), so a poison record never blocks its
/// partition. Returns (processed, dead-lettered).
pub async fn consume_with_dlq(
    consumer: &StreamConsumer,
    producer: &FutureProducer,
    dlq: &str,
    expected: usize,
    mut handle: impl FnMut(&[u8]) -> Result<()>,
) -> Result<(usize, usize)> {
    let (mut processed, mut dead) = (0, 0);
    while processed + dead < expected {
        let Ok(message) = tokio::time::timeout(Duration::from_secs(30), consumer.recv()).await
        else {
            bail!(
                "handled {} of {expected} records within 30 s",
                processed + dead
            );
        };
        let message = message?;
        match handle(message.payload().unwrap_or_default()) {
            Ok(()) => processed += 1,
            Err(error) => {
                dead_letter(producer, dlq, &message, &format!("{error:#}")).await?;
                dead += 1;
            }
        }
        consumer.store_offset_from_message(&message)?;
    }
    consumer.commit_consumer_state(CommitMode::Sync)?;
    Ok((processed, dead))
}

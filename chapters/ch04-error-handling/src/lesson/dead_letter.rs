//! Poison records: a bounded number of attempts, then the dead-letter
//! topic — so one bad record never stops its partition, and never vanishes.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::classify::send;

/// Header names on dead-letter records.
pub mod dlq_headers {
    pub const TOPIC: &str = "dlq.original.topic";
    pub const PARTITION: &str = "dlq.original.partition";
    pub const OFFSET: &str = "dlq.original.offset";
    pub const ERROR: &str = "dlq.error";
    pub const ATTEMPTS: &str = "dlq.attempts";
    pub const FAILED_AT: &str = "dlq.failed.at.ms";
}

/// What the consumer did with each record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DlqReport {
    pub processed: Vec<i64>,
    pub dead_lettered: Vec<i64>,
}

// ANCHOR: dead_letter
/// Sends a record that could not be processed to `<topic>.dlq`, with where
/// it came from and why, and waits for the acknowledgement — only then may
/// the consumer move past it.
pub async fn dead_letter(
    producer: &FutureProducer,
    message: &BorrowedMessage<'_>,
    error: &str,
    attempts: u32,
) -> Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let (partition, offset) = (
        message.partition().to_string(),
        message.offset().to_string(),
    );
    let (attempts, now) = (attempts.to_string(), now.to_string());
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: dlq_headers::TOPIC,
            value: Some(message.topic()),
        })
        .insert(Header {
            key: dlq_headers::PARTITION,
            value: Some(&partition),
        })
        .insert(Header {
            key: dlq_headers::OFFSET,
            value: Some(&offset),
        })
        .insert(Header {
            key: dlq_headers::ERROR,
            value: Some(error),
        })
        .insert(Header {
            key: dlq_headers::ATTEMPTS,
            value: Some(&attempts),
        })
        .insert(Header {
            key: dlq_headers::FAILED_AT,
            value: Some(&now),
        });
    let dlq = format!("{}.dlq", message.topic());
    forward(producer, &dlq, message, headers).await
}

/// Copies `message` (key and value unchanged) to `to` with `headers`, and
/// waits for the acknowledgement.
pub async fn forward(
    producer: &FutureProducer,
    to: &str,
    message: &impl Message,
    headers: OwnedHeaders,
) -> Result<()> {
    let mut record = FutureRecord::to(to).headers(headers);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    if let Some(payload) = message.payload() {
        record = record.payload(payload);
    }
    send(producer, record)
        .await
        .with_context(|| format!("writing offset {} to {to}", message.offset()))?;
    Ok(())
}
// ANCHOR_END: dead_letter

// ANCHOR: consume_with_dlq
/// The consumer loop: up to `max_attempts` tries per record (with a short
/// back-off), then the dead-letter topic; the offset is stored either way,
/// so one poison record never blocks the partition.
pub async fn consume_with_dlq(
    consumer: &StreamConsumer,
    dlq_producer: &FutureProducer,
    expected: usize,
    max_attempts: u32,
    mut handle: impl FnMut(&[u8]) -> Result<()>,
) -> Result<DlqReport> {
    let mut report = DlqReport::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while report.processed.len() + report.dead_lettered.len() < expected {
        if Instant::now() > deadline {
            bail!(
                "handled {} of {expected} records within 60 s",
                report.processed.len() + report.dead_lettered.len()
            );
        }
        let Ok(message) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
        else {
            continue;
        };
        let message = message?;
        let payload = message.payload().unwrap_or_default();
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match handle(payload) {
                Ok(()) => break Ok(()),
                Err(error) if attempt >= max_attempts => break Err(error),
                Err(_) => tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await,
            }
        };
        match outcome {
            Ok(()) => report.processed.push(message.offset()),
            Err(error) => {
                dead_letter(dlq_producer, &message, &format!("{error:#}"), attempt).await?;
                report.dead_lettered.push(message.offset());
            }
        }
        consumer.store_offset_from_message(&message)?;
    }
    consumer.commit_consumer_state(CommitMode::Sync)?;
    Ok(report)
}
// ANCHOR_END: consume_with_dlq

/// A group member that stores offsets only when the loop says so.
pub fn consumer(bootstrap: &str, topic: &str, group: &str) -> Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.offset.store", "false")
        .create()?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

/// Reads one header of a message as UTF-8.
pub fn header(message: &impl Message, name: &str) -> Option<String> {
    let headers = message.headers()?;
    (0..headers.count())
        .map(|i| headers.get(i))
        .find(|h| h.key == name)
        .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
}

//! Delayed retries through a retry topic.
//!
//! Retrying in place (sleep, try again) holds up every record behind the
//! failing one in its partition. For failures that time may cure — a
//! downstream service that is briefly unavailable — the record can instead
//! be parked in `<topic>.retry` with the time it may be tried again, and the
//! main loop moves on. A second loop reads the retry topic, waits until each
//! record is due, and tries again; after `max_attempts` the record goes to
//! `<topic>.dlq`. Records that can never succeed (poison) go to the
//! dead-letter topic at once.
//!
//! The price: a retried record is processed *after* records that came later
//! in its partition. Use this only where per-key order does not matter.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::FutureProducer;

use super::dead_letter::{self, dlq_headers, header};

/// Headers on records in the retry topic (plus the `dlq.original.*` ones).
pub mod retry_headers {
    /// The attempt this record is waiting for (2 = first retry).
    pub const ATTEMPT: &str = "retry.attempt";
    /// Milliseconds since the epoch before which it must not be tried.
    pub const NOT_BEFORE: &str = "retry.not.before.ms";
}

/// Why a record could not be processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Might work later (a dependency is down): retry after a delay.
    Transient(String),
    /// Will never work (bad data): straight to the dead-letter topic.
    Poison(String),
}

/// One successful processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub payload: String,
    pub attempt: u32,
    pub at_ms: u64,
}

/// What the two loops did.
#[derive(Debug, Default, Clone)]
pub struct RetryReport {
    pub processed: Vec<Processed>,
    /// Records parked in the retry topic (one per failed attempt).
    pub parked: usize,
    pub dead_lettered: Vec<String>,
}

/// The retry policy.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub delay: Duration,
    pub max_attempts: u32,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

// ANCHOR: retry_loops
/// Runs the main loop on `topic` and the retry loop on `<topic>.retry`
/// until `expected` records are either processed or dead-lettered.
pub async fn run_with_retry_topic(
    main: &StreamConsumer,
    retries: &StreamConsumer,
    producer: &FutureProducer,
    topic: &str,
    expected: usize,
    policy: Policy,
    handle: impl Fn(&[u8], u32) -> Result<(), Failure>,
) -> Result<RetryReport> {
    let mut report = RetryReport::default();
    // The retry record we hold until it is due. Records in the retry topic
    // are in due order (one fixed delay), so holding the head is enough.
    let mut waiting: Option<(OwnedMessage, u64)> = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while report.processed.len() + report.dead_lettered.len() < expected {
        let due = waiting.as_ref().map(|(_, due)| *due);
        tokio::select! {
            received = main.recv() => {
                let message = received?.detach();
                attempt(&message, 1, topic, producer, policy, &handle, &mut report).await?;
                // librdkafka stores offset + 1 itself: pass the record's own offset.
                main.store_offset(message.topic(), message.partition(), message.offset())?;
            }
            // Read the next retry record only when none is waiting.
            received = retries.recv(), if waiting.is_none() => {
                let message = received?.detach();
                let due = number(&message, retry_headers::NOT_BEFORE)?;
                waiting = Some((message, due));
            }
            _ = sleep_until_ms(due.unwrap_or(u64::MAX)), if due.is_some() => {
                let (message, _) = waiting.take().expect("a record is waiting");
                let n = number(&message, retry_headers::ATTEMPT)? as u32;
                attempt(&message, n, topic, producer, policy, &handle, &mut report).await?;
                retries.store_offset(message.topic(), message.partition(), message.offset())?;
            }
            _ = tokio::time::sleep_until(deadline) => bail!("not done within 120 s: {report:?}"),
        }
    }
    main.commit_consumer_state(CommitMode::Sync)?;
    retries.commit_consumer_state(CommitMode::Sync)?;
    Ok(report)
}

/// One attempt at a record; on failure, park it or dead-letter it. Returns
/// only after any record it wrote was acknowledged, so storing the offset
/// afterwards cannot lose it.
async fn attempt(
    message: &OwnedMessage,
    n: u32,
    topic: &str,
    producer: &FutureProducer,
    policy: Policy,
    handle: &impl Fn(&[u8], u32) -> Result<(), Failure>,
    report: &mut RetryReport,
) -> Result<()> {
    let payload = message.payload().unwrap_or_default();
    match handle(payload, n) {
        Ok(()) => report.processed.push(Processed {
            payload: String::from_utf8_lossy(payload).into_owned(),
            attempt: n,
            at_ms: now_ms(),
        }),
        Err(Failure::Transient(why)) if n < policy.max_attempts => {
            let not_before = now_ms() + policy.delay.as_millis() as u64;
            let retry = [
                (retry_headers::ATTEMPT, (n + 1).to_string()),
                (retry_headers::NOT_BEFORE, not_before.to_string()),
                (dlq_headers::ERROR, why),
            ];
            forward(producer, &format!("{topic}.retry"), message, &retry).await?;
            report.parked += 1;
        }
        Err(Failure::Transient(why) | Failure::Poison(why)) => {
            let dead = [
                (dlq_headers::ATTEMPTS, n.to_string()),
                (dlq_headers::ERROR, why),
                (dlq_headers::FAILED_AT, now_ms().to_string()),
            ];
            forward(producer, &format!("{topic}.dlq"), message, &dead).await?;
            report
                .dead_lettered
                .push(String::from_utf8_lossy(payload).into_owned());
        }
    }
    Ok(())
}
// ANCHOR_END: retry_loops

/// Writes `message` to `to` with its key and value, where it originally came
/// from (kept across retries) and `extra` headers; waits for the ack.
async fn forward(
    producer: &FutureProducer,
    to: &str,
    message: &OwnedMessage,
    extra: &[(&str, String)],
) -> Result<()> {
    let origin = |name: &str, own: String| header(message, name).unwrap_or(own);
    let provenance = [
        (
            dlq_headers::TOPIC,
            origin(dlq_headers::TOPIC, message.topic().to_string()),
        ),
        (
            dlq_headers::PARTITION,
            origin(dlq_headers::PARTITION, message.partition().to_string()),
        ),
        (
            dlq_headers::OFFSET,
            origin(dlq_headers::OFFSET, message.offset().to_string()),
        ),
    ];
    let mut headers = OwnedHeaders::new();
    for (key, value) in provenance.iter().chain(extra) {
        headers = headers.insert(Header {
            key,
            value: Some(value.as_str()),
        });
    }
    dead_letter::forward(producer, to, message, headers).await
}

fn number(message: &OwnedMessage, name: &str) -> Result<u64> {
    header(message, name)
        .and_then(|v| v.parse().ok())
        .with_context(|| {
            format!(
                "retry record at offset {} has no {name} header",
                message.offset()
            )
        })
}

async fn sleep_until_ms(due_ms: u64) {
    let wait = due_ms.saturating_sub(now_ms());
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

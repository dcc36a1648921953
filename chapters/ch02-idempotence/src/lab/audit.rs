//! Reading the log back and comparing it with what was sent; following
//! each batch whose answer was withheld through its retries.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::proxy::{self, Fate, ProxyReport};
use crate::lesson::REQUEST_TIMEOUT;

// ANCHOR: read_back
/// Reads every partition of `topic` from the beginning to its end, directly
/// from the broker (not through the proxy): the record numbers in log order.
pub async fn read_back(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, Vec<u64>>> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ch02-idempotence-audit") // required by librdkafka, never joined
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    let mut end = BTreeMap::new();
    for partition in 0..partitions {
        let (_, high) = consumer.fetch_watermarks(topic, partition, REQUEST_TIMEOUT)?;
        end.insert(partition, high);
        assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let mut log: BTreeMap<i32, Vec<u64>> = (0..partitions).map(|p| (p, Vec::new())).collect();
    let mut next: BTreeMap<i32, i64> = (0..partitions).map(|p| (p, 0)).collect();
    let limit = Duration::from_secs(30);
    let deadline = tokio::time::Instant::now() + limit;
    while next
        .iter()
        .any(|(p, offset)| end.get(p).is_some_and(|e| offset < e))
    {
        let Ok(message) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            bail!("read {next:?} of {end:?} records of {topic} within {limit:?}");
        };
        let message = message?;
        let number = std::str::from_utf8(message.payload().unwrap_or_default())?
            .parse()
            .context("a record that this chapter did not write")?;
        log.entry(message.partition()).or_default().push(number);
        next.insert(message.partition(), message.offset() + 1);
    }
    Ok(log)
}
// ANCHOR_END: read_back

/// How the stored records compare with what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub stored: usize,
    /// Different record numbers stored.
    pub distinct: usize,
    /// Stored copies beyond the first of each record.
    pub duplicates: usize,
    /// Records sent but not stored at all.
    pub missing: usize,
    /// In every partition the first copies of the records are in send order.
    pub order_kept: bool,
    /// Every partition holds exactly its records, once each, in send order.
    pub exact: bool,
}

// ANCHOR: audit
/// Compares the log with what was sent: records `0..sent`, record `n` in
/// partition `n % partitions`.
pub fn audit(sent: usize, partitions: i32, log: &BTreeMap<i32, Vec<u64>>) -> Audit {
    let expected = |p: i32| -> Vec<u64> {
        (0..sent as u64)
            .filter(|n| *n % partitions as u64 == p as u64)
            .collect()
    };
    let mut audit = Audit {
        stored: 0,
        distinct: 0,
        duplicates: 0,
        missing: 0,
        order_kept: true,
        exact: true,
    };
    for p in 0..partitions {
        let stored = log.get(&p).map(Vec::as_slice).unwrap_or_default();
        let mut seen = BTreeSet::new();
        let first_copies: Vec<u64> = stored.iter().copied().filter(|n| seen.insert(*n)).collect();
        audit.stored += stored.len();
        audit.distinct += first_copies.len();
        audit.order_kept &= first_copies.windows(2).all(|w| w[0] < w[1]);
        audit.exact &= stored == expected(p).as_slice();
    }
    audit.duplicates = audit.stored - audit.distinct;
    audit.missing = sent.saturating_sub(audit.distinct);
    audit
}
// ANCHOR_END: audit

// ---------------------------------------------------------------------------
// What the wire showed
// ---------------------------------------------------------------------------

/// One attempt to deliver a batch, as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub connection: u32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records: i32,
    pub fate: Fate,
    /// Where the broker said the batch is stored (if it answered, success).
    pub stored_at: Option<i64>,
}

/// A batch whose answer the proxy withheld, and every attempt to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetriedBatch {
    pub partition: i32,
    /// The number of the batch's first record.
    pub first_record: u64,
    pub attempts: Vec<Attempt>,
}

// ANCHOR: retried_batches
/// Follows each batch whose answer was withheld through its retries: the
/// later Produce requests for the same partition that start with the same
/// record.
pub fn retried_batches(report: &ProxyReport) -> Vec<RetriedBatch> {
    let first_record = |e: &proxy::ProduceExchange| {
        let request = e.request.as_ref()?;
        let value = std::str::from_utf8(request.first_value.as_deref()?).ok()?;
        Some((request.partition, value.parse::<u64>().ok()?))
    };
    let mut batches: Vec<RetriedBatch> = Vec::new();
    for exchange in &report.exchanges {
        let (Some((partition, first)), Some(request)) = (first_record(exchange), &exchange.request)
        else {
            continue;
        };
        let attempt = Attempt {
            connection: exchange.connection,
            producer_id: request.producer_id,
            producer_epoch: request.producer_epoch,
            base_sequence: request.base_sequence,
            records: request.record_count,
            fate: exchange.fate,
            stored_at: exchange
                .response
                .filter(|r| r.error_code == 0)
                .map(|r| r.base_offset),
        };
        let known = batches
            .iter_mut()
            .find(|b| b.partition == partition && b.first_record == first);
        match known {
            Some(batch) => batch.attempts.push(attempt),
            None => batches.push(RetriedBatch {
                partition,
                first_record: first,
                attempts: vec![attempt],
            }),
        }
    }
    batches.retain(|b| b.attempts.iter().any(|a| a.fate == Fate::Withheld));
    batches
}
// ANCHOR_END: retried_batches

//! Reading a topic to its end at either isolation level, and counting what
//! a pipeline's output holds against its input.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};

use crate::lesson::batching::transform;
use crate::lesson::isolation;

/// A consumer context that does not log the end of a partition as an
/// error: `enable.partition.eof` is how these readers know they are done.
pub struct EndIsNotAnError;

impl ClientContext for EndIsNotAnError {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::Global(RDKafkaErrorCode::PartitionEOF)) {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for EndIsNotAnError {}

/// One record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub partition: i32,
    pub offset: i64,
    pub payload: String,
}

/// Every record of `topic` from the beginning to the end a reader with
/// `isolation_level` sees (the LSO for `read_committed`), partition by
/// partition; an error after `limit`.
pub fn read_to_end(
    bootstrap: &str,
    topic: &str,
    isolation_level: &str,
    limit: Duration,
) -> Result<Vec<Seen>> {
    let mut seen = Vec::new();
    each_to_end(bootstrap, topic, isolation_level, limit, |message| {
        seen.push(Seen {
            partition: message.partition(),
            offset: message.offset(),
            payload: String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
        })
    })?;
    Ok(seen)
}

/// [`read_to_end`], handing every record to `each` instead of keeping it.
pub fn each_to_end(
    bootstrap: &str,
    topic: &str,
    isolation_level: &str,
    limit: Duration,
    mut each: impl FnMut(&BorrowedMessage<'_>),
) -> Result<()> {
    let consumer: BaseConsumer<EndIsNotAnError> = isolation::reader(bootstrap, isolation_level)
        .set("enable.partition.eof", "true")
        .create_with_context(EndIsNotAnError)?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .first()
        .map(|t| t.partitions().iter().map(|p| p.id()).collect())
        .unwrap_or_default();
    if partitions.is_empty() {
        bail!("{topic} has no partitions (does it exist?)");
    }
    let mut assignment = TopicPartitionList::new();
    for partition in &partitions {
        assignment.add_partition_offset(topic, *partition, Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let mut at_end = BTreeSet::new();
    let deadline = Instant::now() + limit;
    while at_end.len() < partitions.len() {
        if Instant::now() > deadline {
            bail!(
                "reading {topic} ({isolation_level}): {} of {} partitions at their end after {limit:?}",
                at_end.len(),
                partitions.len()
            );
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                each(&message);
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(error)) => return Err(error).with_context(|| format!("reading {topic}")),
            None => {}
        }
    }
    Ok(())
}

/// Writes `payloads` to `topic` (keys `k-<i>`, spread over the partitions)
/// with a plain idempotent producer, and waits for every acknowledgement.
pub fn write_input(bootstrap: &str, topic: &str, payloads: &[String]) -> Result<()> {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .create()?;
    for (i, payload) in payloads.iter().enumerate() {
        let key = format!("k-{i}");
        let mut record = BaseRecord::to(topic).key(&key).payload(payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                    record = unsent;
                    producer.poll(Duration::from_millis(100));
                }
                Err((error, _)) => return Err(error.into()),
            }
        }
    }
    producer
        .flush(Duration::from_secs(30))
        .context("writing the drill's input")?;
    Ok(())
}

/// The drill's input: `rec-00000`, `rec-00001`, …
pub fn inputs(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("rec-{i:05}")).collect()
}

/// What the output holds, against what it should hold: each input,
/// transformed, exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Audit {
    pub inputs: usize,
    pub outputs: usize,
    /// Inputs whose transformed record is missing.
    pub lost: usize,
    /// Extra copies, summed over the inputs that have more than one.
    pub duplicated: usize,
    /// Output records that match no input.
    pub strangers: usize,
}

pub fn audit(inputs: &[String], outputs: &[Seen]) -> Audit {
    let mut counts: BTreeMap<String, usize> = inputs
        .iter()
        .map(|input| {
            (
                String::from_utf8_lossy(&transform(input.as_bytes())).into_owned(),
                0,
            )
        })
        .collect();
    let mut strangers = 0;
    for seen in outputs {
        match counts.get_mut(&seen.payload) {
            Some(count) => *count += 1,
            None => strangers += 1,
        }
    }
    Audit {
        inputs: inputs.len(),
        outputs: outputs.len(),
        lost: counts.values().filter(|&&c| c == 0).count(),
        duplicated: counts.values().map(|&c| c.saturating_sub(1)).sum(),
        strangers,
    }
}

//! 二.2 配置生产者与发送: configuring a producer, and sending synchronously
//! and asynchronously without losing track of a single record.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{
    BaseRecord, FutureProducer, FutureRecord, Producer, ProducerContext, ThreadedProducer,
};

/// The producer settings this chapter is about, for `print_effective`.
pub const SETTINGS: &[&str] = &[
    "bootstrap.servers",
    "acks",
    "enable.idempotence",
    "linger.ms",
    "batch.size",
    "batch.num.messages",
    "compression.type",
    "message.timeout.ms",
    "message.max.bytes",
    "queue.buffering.max.messages",
];

/// How long `flush` may take before we report what is still queued.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

// ANCHOR: producer_config
/// The producer configuration of this chapter.
///
/// - `linger.ms`: how long a record may wait for others to fill its batch.
///   librdkafka's default is 5 ms. When records arrive slower than a batch
///   fills, larger values mean fuller batches and fewer requests, at the
///   cost of latency (section 四.7 measures where that matters).
/// - `compression.type`: batches are compressed as a whole, so batching and
///   compression work together.
/// - `message.timeout.ms`: the total time librdkafka may spend delivering a
///   record, retries included. The default is 300 000 ms (5 minutes) — a
///   record to an unreachable broker is reported failed only then. We choose
///   30 s so that failures surface while someone is still watching.
/// - `enable.idempotence`: retries can neither duplicate nor reorder records
///   (section 二.5 proves it); it also implies `acks=all`.
pub fn producer_config(bootstrap: &str, linger_ms: u32, compression: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", linger_ms.to_string())
        .set("compression.type", compression)
        .set("message.timeout.ms", "30000")
        .set("enable.idempotence", "true");
    config
}
// ANCHOR_END: producer_config

/// Where one record ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub partition: i32,
    pub offset: i64,
}

// ANCHOR: send_one
/// Synchronous send: enqueue one record and wait for the broker's answer.
/// The `Ok` carries where the record was written; the `Err` says why not.
/// The queue timeout bounds the wait for room in librdkafka's local queue.
pub async fn send_one(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    payload: &[u8],
) -> Result<Placement, KafkaError> {
    let record = FutureRecord::to(topic).key(key).payload(payload);
    match producer.send(record, Duration::from_secs(5)).await {
        Ok(delivery) => Ok(Placement {
            partition: delivery.partition,
            offset: delivery.offset,
        }),
        Err((error, _unsent)) => Err(error),
    }
}
// ANCHOR_END: send_one

// ANCHOR: send_batch
/// A synchronous batch: start every send, then await them together. The
/// records travel in the same produce requests (one round trip for the
/// batch, not one per record), and each record still gets its own result,
/// so one failure does not hide or cancel the others.
pub async fn send_batch(
    producer: &FutureProducer,
    topic: &str,
    records: &[(String, Vec<u8>)],
) -> Vec<Result<Placement, KafkaError>> {
    let sends = records
        .iter()
        .map(|(key, payload)| send_one(producer, topic, key, payload));
    futures::future::join_all(sends).await
}
// ANCHOR_END: send_batch

// ANCHOR: delivery_counter
/// The delivery report callback for the asynchronous producer. librdkafka
/// calls it exactly once per record — delivered, failed after retries, timed
/// out or purged — from the producer's polling thread. Counting here is what
/// makes "fire and forget" safe: nothing fails unseen.
#[derive(Default)]
pub struct DeliveryCounter {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    /// The first few failures, for the report.
    pub errors: Mutex<Vec<String>>,
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    /// The record's sequence number travels with it and comes back here.
    type DeliveryOpaque = Box<u64>;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: Self::DeliveryOpaque) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
                if errors.len() < 5 {
                    errors.push(format!("record #{seq} to {}: {error}", message.topic()));
                }
            }
        }
    }
}
// ANCHOR_END: delivery_counter

/// What an asynchronous run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsyncReport {
    pub enqueued: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Times `send` answered QueueFull and we waited instead of dropping.
    pub queue_full_waits: u64,
    pub elapsed: Duration,
}

pub type AsyncProducer = ThreadedProducer<DeliveryCounter>;

// ANCHOR: send_async
/// Asynchronous sending: `send` only puts the record in librdkafka's queue
/// and returns at once; the outcome arrives later in the delivery callback.
///
/// When the local queue is full (`queue.buffering.max.messages`/`…kbytes`),
/// `send` hands the record back with `QueueFull`. Dropping it there would be
/// silent data loss; we wait for deliveries to make room and try again.
pub async fn send_async(
    producer: &Arc<AsyncProducer>,
    topic: &str,
    count: u64,
    payload: &[u8],
) -> Result<AsyncReport> {
    let started = Instant::now();
    let mut queue_full_waits = 0;
    for seq in 0..count {
        let key = format!("key-{}", seq % 16);
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(seq))
            .key(&key)
            .payload(payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                    queue_full_waits += 1;
                    record = unsent;
                    // The producer's own thread serves delivery reports,
                    // which frees queue space; give it a moment.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => bail!("record #{seq} could not be enqueued: {error}"),
            }
        }
    }
    // Nothing is lost: wait (bounded) until every queued record has an
    // outcome. `flush` blocks its thread, so it runs off the async runtime.
    flush(producer).await?;
    let context = producer.context();
    Ok(AsyncReport {
        enqueued: count,
        delivered: context.delivered.load(Ordering::Relaxed),
        failed: context.failed.load(Ordering::Relaxed),
        queue_full_waits,
        elapsed: started.elapsed(),
    })
}

/// `flush` with [`FLUSH_TIMEOUT`], on a blocking thread: it waits for the
/// broker, and a waiting async task must not hold a runtime thread.
pub async fn flush(producer: &Arc<AsyncProducer>) -> Result<()> {
    let producer = Arc::clone(producer);
    tokio::task::spawn_blocking(move || producer.flush(FLUSH_TIMEOUT)).await??;
    Ok(())
}
// ANCHOR_END: send_async

/// An asynchronous producer with a delivery counter.
pub fn async_producer(config: &ClientConfig) -> Result<Arc<AsyncProducer>> {
    Ok(Arc::new(
        config.create_with_context(DeliveryCounter::default())?,
    ))
}

// ANCHOR: explain_error
/// Turns a per-record error into advice. The size check happens in
/// librdkafka before anything is sent, so only the oversized record fails.
pub fn explain(error: &KafkaError, payload_len: usize, config: &ClientConfig) -> String {
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::MessageSizeTooLarge) => format!(
            "record of {payload_len} bytes is larger than message.max.bytes={}: split it, or raise \
             message.max.bytes here and max.message.bytes on the topic",
            config
                .get("message.max.bytes")
                .unwrap_or("1000000 (default)")
        ),
        Some(RDKafkaErrorCode::MessageTimedOut) => format!(
            "not delivered within message.timeout.ms={}: is the partition leader reachable?",
            config
                .get("message.timeout.ms")
                .unwrap_or("300000 (default)")
        ),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition) | Some(RDKafkaErrorCode::UnknownTopic) => {
            "the topic does not exist: create it first (section 二.1)".into()
        }
        _ => error.to_string(),
    }
}
// ANCHOR_END: explain_error

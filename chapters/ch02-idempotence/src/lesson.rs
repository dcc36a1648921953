//! 二.5 幂等生产者: the idempotent producer.
//!
//! A producer that does not hear back from the broker cannot tell "my
//! request was lost" from "the answer was lost", so it sends the batch again.
//! If only the answer was lost, the broker already has the batch and, unless
//! it can recognise the repeat, stores it twice. With `enable.idempotence=true`
//! every batch carries the producer's id, epoch and a per-partition sequence
//! number, and the broker answers a repeat with the offset of the copy it
//! already has instead of appending it again.
//!
//! This lesson is the producer side: the one setting, what it demands of the
//! others, and a send loop that counts what the producer was told. The
//! [`crate::lab`] makes the lost answers happen on a real broker.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::producer::{BaseProducer, FutureProducer, FutureRecord, Producer};

/// How long librdkafka may keep retrying a record before it reports it failed.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound for waiting beyond `message.timeout.ms`, and for `flush`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: producer_config
/// The producer of both runs; they differ in `enable.idempotence` only.
pub fn producer_config(bootstrap: &str, idempotent: bool) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", idempotent.to_string())
        // Both runs wait for all in-sync replicas: acks decides when the
        // broker answers, not how often a retried batch is written.
        .set("acks", "all")
        // Small batches, so several requests are on the wire at once.
        .set("batch.num.messages", "100")
        // Every record is settled (delivered or failed) within 20 s instead
        // of librdkafka's default of 5 minutes of retrying.
        .set(
            "message.timeout.ms",
            MESSAGE_TIMEOUT.as_millis().to_string(),
        );
    config
}
// ANCHOR_END: producer_config

/// The settings the chapter prints.
pub const SHOWN_SETTINGS: &[&str] = &[
    "enable.idempotence",
    "acks",
    "max.in.flight.requests.per.connection",
    "retries",
    "batch.num.messages",
    "message.timeout.ms",
];

// ANCHOR: incompatible
/// Settings that contradict idempotence: fewer acknowledgements than all,
/// more than 5 requests in flight per connection, no retries.
pub const INCOMPATIBLE: &[(&str, &str)] = &[
    ("acks", "1"),
    ("acks", "0"),
    ("max.in.flight.requests.per.connection", "6"),
    ("retries", "0"),
];

/// Creates a producer with `key=value` added to [`producer_config`] and
/// returns librdkafka's refusal, or `None` if the producer was created.
pub fn creation_error(idempotent: bool, key: &str, value: &str) -> Option<String> {
    let mut config = producer_config("localhost:9092", idempotent);
    config.set(key, value);
    config
        .create::<BaseProducer>()
        .err()
        .map(|error| error.to_string())
}
// ANCHOR_END: incompatible

/// What the producer was told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub records: usize,
    /// Delivery reports that said "stored".
    pub acknowledged: usize,
    /// Delivery reports that said "failed", with the first error.
    pub failed: usize,
    pub first_error: Option<String>,
}

// ANCHOR: send_numbered
/// Sends records `0..count` in order, record `n` to partition
/// `n % partitions` with payload `n`, and waits for every delivery report.
pub async fn send_numbered<C: ClientContext + 'static>(
    producer: &FutureProducer<C>,
    topic: &str,
    count: usize,
    partitions: i32,
) -> Result<Sent> {
    let mut deliveries = Vec::with_capacity(count);
    for n in 0..count {
        let payload = n.to_string();
        let partition = i32::try_from(n)? % partitions.max(1);
        let record = FutureRecord::<(), _>::to(topic)
            .partition(partition)
            .payload(&payload);
        // `send_result` enqueues now, so the queue holds the records in
        // exactly this order; the future resolves with the delivery report.
        // Any error (QueueFull cannot happen: the queue holds 100 000) is
        // returned.
        let delivery = producer.send_result(record).map_err(|(e, _)| e)?;
        deliveries.push(delivery);
    }
    // librdkafka settles every record within message.timeout.ms, so this
    // bound is only hit if something is badly wrong.
    let reports = tokio::time::timeout(
        MESSAGE_TIMEOUT + REQUEST_TIMEOUT,
        futures::future::join_all(deliveries),
    )
    .await
    .context("delivery reports did not arrive within message.timeout.ms")?;
    // Every record is settled; flushing (off the async runtime: it blocks)
    // confirms nothing is left queued.
    let flushing = producer.clone();
    tokio::task::spawn_blocking(move || flushing.flush(REQUEST_TIMEOUT)).await??;

    let mut sent = Sent {
        records: count,
        acknowledged: 0,
        failed: 0,
        first_error: None,
    };
    for report in reports {
        match report {
            Ok(Ok(_)) => sent.acknowledged += 1,
            Ok(Err((error, _))) => {
                sent.failed += 1;
                sent.first_error.get_or_insert_with(|| error.to_string());
            }
            Err(_canceled) => bail!("the producer went away before reporting a delivery"),
        }
    }
    Ok(sent)
}
// ANCHOR_END: send_numbered

//! A producer per `acks` level, what each one learns about the write, and
//! what each costs.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{
    BaseRecord, FutureProducer, FutureRecord, Producer, ProducerContext, ThreadedProducer,
};

/// The three acknowledgement levels.
pub const ACKS: [&str; 3] = ["0", "1", "all"];

// ANCHOR: producer_config
/// A producer with the given `acks`. Idempotence is switched off explicitly:
/// it requires `acks=all`, and this chapter wants to compare all three.
pub fn producer_config(bootstrap: &str, acks: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("acks", acks)
        .set("enable.idempotence", "false")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "10000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: acks_zero_offset
/// With `acks=0` the broker sends no response at all, so the producer never
/// learns the offset: the delivery report says "delivered" as soon as the
/// request is written to the socket, with librdkafka's "invalid offset" (-1001).
pub async fn send_and_report_offset(bootstrap: &str, topic: &str, acks: &str) -> Result<i64> {
    let producer: FutureProducer = producer_config(bootstrap, acks).create()?;
    let record = FutureRecord::to(topic).key("k").payload("v");
    let delivery = producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)?;
    Ok(delivery.offset)
}
// ANCHOR_END: acks_zero_offset

/// Counts failed deliveries of the throughput run.
#[derive(Default)]
struct FailureCounter {
    failed: Mutex<u64>,
}

impl ClientContext for FailureCounter {}

impl ProducerContext for FailureCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            *self.failed.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        }
    }
}

/// One row of the comparison table.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub acks: String,
    pub records: u64,
    pub failed: u64,
    pub records_per_second: f64,
    /// Round trip of a single record sent alone: send → delivery report.
    pub p50: Duration,
    pub p99: Duration,
}

// ANCHOR: measure
/// Throughput: `records` records of `size` bytes, sent as fast as the
/// producer takes them, until the last delivery report.
pub fn throughput(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    records: u64,
    size: usize,
) -> Result<(f64, u64)> {
    let producer: ThreadedProducer<FailureCounter> =
        producer_config(bootstrap, acks).create_with_context(FailureCounter::default())?;
    let payload = vec![b'x'; size];
    let started = Instant::now();
    for i in 0..records {
        let key = (i % 64).to_string();
        let mut record = BaseRecord::to(topic).key(&key).payload(&payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                // Local queue full: wait for deliveries to free room, retry.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                    record = unsent;
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Anything else (a record over message.max.bytes, a bad
                // setting) will not go away by retrying: report it.
                Err((error, _)) => bail!("record #{i} could not be enqueued: {error}"),
            }
        }
    }
    producer.flush(Duration::from_secs(60))?;
    let per_second = records as f64 / started.elapsed().as_secs_f64();
    let failed = *producer
        .context()
        .failed
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Ok((per_second, failed))
}

/// Latency: `samples` records sent one at a time, each awaited, so the
/// time measured is the acknowledgement round trip and not queueing.
pub async fn latency(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    samples: usize,
) -> Result<(Duration, Duration)> {
    let mut config = producer_config(bootstrap, acks);
    // No batching delay: measure the acknowledgement, not linger.ms.
    config.set("linger.ms", "0");
    let producer: FutureProducer = config.create()?;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let payload = i.to_string();
        let record = FutureRecord::<(), _>::to(topic).payload(&payload);
        let started = Instant::now();
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)?;
        times.push(started.elapsed());
    }
    times.sort_unstable();
    Ok((percentile(&times, 0.50)?, percentile(&times, 0.99)?))
}

/// The value below which a share `p` of the sorted `times` lie.
fn percentile(times: &[Duration], p: f64) -> Result<Duration> {
    let rank = (times.len() as f64 * p).ceil() as usize;
    times
        .get(rank.saturating_sub(1))
        .copied()
        .context("no latency samples")
}

/// Both measurements for one acks setting.
pub async fn measure(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    records: u64,
    size: usize,
) -> Result<Measurement> {
    let (b, t, a) = (bootstrap.to_string(), topic.to_string(), acks.to_string());
    let (records_per_second, failed) =
        tokio::task::spawn_blocking(move || throughput(&b, &t, &a, records, size)).await??;
    let (p50, p99) = latency(bootstrap, topic, acks, 300).await?;
    Ok(Measurement {
        acks: acks.to_string(),
        records,
        failed,
        records_per_second,
        p50,
        p99,
    })
}
// ANCHOR_END: measure

//! 二.4 acks: what an acknowledgement means.
//!
//! `acks` decides when the leader answers a produce request: never (0),
//! after writing to its own log (1), or after every in-sync replica has the
//! record (all, with at least `min.insync.replicas` of them). This lesson
//! configures each level, measures what it costs, and creates the topic the
//! failure drill (in [`crate::lab`]) breaks on purpose.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
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

// ANCHOR: durability_topic
/// The topic for the failure demo: two replicas (leader and one follower on
/// the brokers we choose), `min.insync.replicas=2`, and unclean leader
/// election allowed, so that a replica that is out of sync may still take
/// over when the leader dies.
pub async fn create_durability_topic(
    bootstrap: &str,
    topic: &str,
    leader: i32,
    follower: i32,
) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let replicas = [leader, follower];
    let assignment: [&[i32]; 1] = [&replicas];
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Variable(&assignment))
        .set("min.insync.replicas", "2")
        .set("unclean.leader.election.enable", "true");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(15)));
    let results = admin.create_topics([&new_topic], &options).await?;
    if let Some(Err((name, code))) = results.into_iter().next() {
        bail!("creating {name}: {code}");
    }
    Ok(())
}
// ANCHOR_END: durability_topic

// ANCHOR: produce_and_count_acks
/// Sends `count` records numbered 0.. (all at once) and returns the
/// numbers the producer got an acknowledgement for, and the first error seen.
pub async fn produce_and_count_acks(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    count: u32,
) -> Result<(BTreeSet<u32>, Option<String>)> {
    produce_numbered(bootstrap, topic, acks, 0, count).await
}

/// Like [`produce_and_count_acks`], numbering the records from `first`.
pub async fn produce_numbered(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    first: u32,
    count: u32,
) -> Result<(BTreeSet<u32>, Option<String>)> {
    let mut config = producer_config(bootstrap, acks);
    // A few quick retries, then give up: the error reported is then the
    // broker's last answer rather than a bare "message timed out".
    config
        .set("message.timeout.ms", "8000")
        .set("retries", "3")
        .set("retry.backoff.ms", "250");
    let producer: FutureProducer = config.create()?;
    let payloads: Vec<String> = (0..count).map(|seq| (seq + first).to_string()).collect();
    let sends = payloads.iter().map(|payload| {
        let record = FutureRecord::<(), _>::to(topic).payload(payload);
        producer.send(record, Duration::from_secs(5))
    });
    let mut acknowledged = BTreeSet::new();
    let mut first_error = None;
    for (seq, result) in (first..first + count).zip(futures::future::join_all(sends).await) {
        match result {
            Ok(_) => {
                acknowledged.insert(seq);
            }
            Err((error, _)) => {
                first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    Ok((acknowledged, first_error))
}
// ANCHOR_END: produce_and_count_acks

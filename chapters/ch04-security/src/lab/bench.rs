//! What TLS costs the client: the same records produced and consumed over
//! a `PLAINTEXT` listener and over the secured node's `SASL_SSL` listener,
//! in one run, with the client's CPU time (user + system, every librdkafka
//! thread included: `getrusage(RUSAGE_SELF)`) per million records.
//!
//! Both brokers are Kafka 4.3.1 started by `cargo xtask` with the same heap
//! and topic settings; the secured node differs by TLS + SCRAM (SCRAM costs
//! one handshake per connection, TLS costs every byte).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use nix::sys::resource::{UsageWho, getrusage};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// One measured side (producer or consumer, over one listener).
#[derive(Debug, Clone, Copy, Default)]
pub struct Measured {
    pub records: u64,
    pub wall: Duration,
    pub cpu: Duration,
}

impl Measured {
    /// Adds another run of the same side (rounds are summed, not averaged).
    pub fn add(&mut self, other: Measured) {
        self.records += other.records;
        self.wall += other.wall;
        self.cpu += other.cpu;
    }

    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64().max(1e-9)
    }
    /// Client CPU seconds per million records.
    pub fn cpu_per_million(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / (self.records.max(1) as f64)
    }
}

fn cpu_now() -> Duration {
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| {
                Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64)
            };
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or_default()
}

/// Counts deliveries and failures of the benchmark producer.
#[derive(Default, Clone)]
struct Counting {
    delivered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
}

impl ClientContext for Counting {}
impl ProducerContext for Counting {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let counter = if result.is_ok() {
            &self.delivered
        } else {
            &self.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Produces `records` records of `size` bytes to partition 0 of `topic`
/// and measures until every one is acknowledged. Blocking: call it from
/// `spawn_blocking`.
pub fn produce(config: &ClientConfig, topic: &str, records: u64, size: usize) -> Result<Measured> {
    let context = Counting::default();
    let producer: BaseProducer<Counting> = config
        .clone()
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("compression.type", "none")
        .set("message.timeout.ms", "60000")
        .create_with_context(context.clone())?;
    let payload = vec![b'x'; size];
    let (wall0, cpu0) = (Instant::now(), cpu_now());
    for _ in 0..records {
        let mut record = BaseRecord::<(), _>::to(topic)
            .payload(&payload)
            .partition(0);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                // The local queue is full: serve delivery reports, retry.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(5));
                }
                Err((error, _)) => bail!("send failed: {error}"),
            }
        }
    }
    producer.flush(Duration::from_secs(120))?;
    let measured = Measured {
        records,
        wall: wall0.elapsed(),
        cpu: cpu_now() - cpu0,
    };
    let (ok, failed) = (
        context.delivered.load(Ordering::Relaxed),
        context.failed.load(Ordering::Relaxed),
    );
    if ok != records || failed > 0 {
        bail!("{ok} of {records} records delivered, {failed} failed");
    }
    Ok(measured)
}

/// Reads `records` records from partition 0 of `topic` from the beginning
/// (no group: nothing to commit) and measures. Blocking.
pub fn consume(config: &ClientConfig, topic: &str, records: u64) -> Result<Measured> {
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", "unused-bench-assign-only")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + Duration::from_secs(180);
    let (wall0, cpu0) = (Instant::now(), cpu_now());
    let mut read = 0;
    while read < records {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(_)) => read += 1,
            Some(Err(error)) => bail!("consume failed after {read} records: {error}"),
            None if Instant::now() > deadline => {
                bail!("read {read} of {records} records in 180 s")
            }
            None => {}
        }
    }
    Ok(Measured {
        records,
        wall: wall0.elapsed(),
        cpu: cpu_now() - cpu0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_and_per_million() {
        let m = Measured {
            records: 500_000,
            wall: Duration::from_secs(2),
            cpu: Duration::from_secs(1),
        };
        assert_eq!(m.records_per_second(), 250_000.0);
        assert_eq!(m.cpu_per_million(), 2.0);
    }
}

//! Sending as fast as the client takes records, with the two producers that
//! report deliveries through a callback: `BaseProducer` (we call `poll`) and
//! `ThreadedProducer` (a background thread does). Both loops are blocking
//! code: call them from a plain thread or `tokio::task::spawn_blocking`,
//! never directly inside async code — `flush` and the drain loop block.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use rdkafka::client::{Client, ClientContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext, ThreadedProducer};

use super::config::{ProducerSettings, producer_config};
use super::measure::{Latencies, Load, Measured, Pace, STALL_TIMEOUT};

// ANCHOR: delivery_context
/// The delivery-report callback of `BaseProducer`/`ThreadedProducer`. The
/// opaque value carried by each record is its send time (µs since `start`),
/// so measuring latency costs no allocation per record.
pub struct Timing {
    start: Instant,
    latencies: Latencies,
}

impl Timing {
    pub fn new(records: u64) -> Self {
        Timing {
            start: Instant::now(),
            latencies: Latencies::with_capacity(records),
        }
    }

    /// The opaque value of a record sent now.
    pub fn micros_since_start(&self) -> usize {
        self.start.elapsed().as_micros() as usize
    }

    pub fn latencies(&self) -> &Latencies {
        &self.latencies
    }
}

impl ClientContext for Timing {}

impl ProducerContext for Timing {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_at_micros: usize) {
        match result {
            Ok(_) => {
                let now = self.start.elapsed();
                let sent = Duration::from_micros(sent_at_micros as u64);
                self.latencies.record(now.saturating_sub(sent));
            }
            Err((error, _)) => self.latencies.fail(error),
        }
    }
}
// ANCHOR_END: delivery_context

/// Fetches the topic's metadata once, so the first timed `send` does not
/// wait for it.
pub fn warm_up<C: ClientContext>(client: &Client<C>, topic: &str) -> Result<()> {
    client
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("metadata for {topic}"))?;
    Ok(())
}

/// `BaseProducer` end to end: create, warm up, send `load`, wait for every
/// report. Fails if any record was not delivered.
pub fn run_base(
    bootstrap: &str,
    topic: &str,
    settings: &ProducerSettings,
    load: Load<'_>,
) -> Result<Measured> {
    let producer: BaseProducer<Timing> =
        producer_config(bootstrap, settings).create_with_context(Timing::new(load.records))?;
    warm_up(producer.client(), topic)?;
    let started = Instant::now();
    base_loop(&producer, topic, load)?;
    measured(&producer.context().latencies, started, load)
}

/// `ThreadedProducer` end to end, like [`run_base`].
pub fn run_threaded(
    bootstrap: &str,
    topic: &str,
    settings: &ProducerSettings,
    load: Load<'_>,
) -> Result<Measured> {
    let producer: ThreadedProducer<Timing> =
        producer_config(bootstrap, settings).create_with_context(Timing::new(load.records))?;
    warm_up(producer.client(), topic)?;
    let started = Instant::now();
    threaded_loop(&producer, topic, load)?;
    measured(&producer.context().latencies, started, load)
}

/// Throughput and latency of a finished run; an error if a record failed.
pub fn measured(latencies: &Latencies, started: Instant, load: Load<'_>) -> Result<Measured> {
    let seconds = started.elapsed().as_secs_f64();
    let delivered = latencies.delivered().map_err(|e| anyhow!(e))?;
    Ok(Measured {
        records: delivered,
        bytes: delivered * load.payload.len() as u64,
        seconds,
        latency: latencies.percentiles(),
    })
}

// ANCHOR: base_loop
/// `BaseProducer`: `send` only enqueues; delivery reports are served by
/// `poll`, which this loop calls after every send (with a zero timeout, it
/// just runs the callbacks that are ready). When the queue is full
/// (QueueFull: back-pressure), serve reports to make room and retry the
/// same record; any other error ends the run. At the end, wait until every
/// report arrived.
pub fn base_loop(producer: &BaseProducer<Timing>, topic: &str, load: Load<'_>) -> Result<()> {
    let start = producer.context().start;
    let pace = Pace::new(load.rate);
    for i in 0..load.records {
        while let Some(wait) = pace.ahead(i) {
            producer.poll(Duration::ZERO);
            std::thread::sleep(wait.min(Duration::from_micros(500)));
        }
        let sent_at = start.elapsed().as_micros() as usize;
        let mut record =
            BaseRecord::<(), [u8], usize>::with_opaque_to(topic, sent_at).payload(load.payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    serve_reports(producer);
                    record = returned;
                }
                Err((error, _)) => return Err(error).context("send"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    // `flush` polls in 100 ms steps: draining ourselves first ends the run
    // when the last report arrives; `flush` then only confirms.
    let deadline = Instant::now() + STALL_TIMEOUT;
    while producer.in_flight_count() > 0 && Instant::now() < deadline {
        serve_reports(producer);
    }
    producer
        .flush(Duration::from_secs(1))
        .context("flush: records still undelivered")?;
    Ok(())
}

/// Runs the delivery reports that are ready, then yields the CPU briefly.
/// Not `poll(Duration::from_millis(1))`: rust-rdkafka's `poll(t)` keeps
/// polling until `t` has passed and hands librdkafka whole milliseconds, so
/// the last (here: the only) partial millisecond is a busy loop.
fn serve_reports(producer: &BaseProducer<Timing>) {
    producer.poll(Duration::ZERO);
    std::thread::sleep(Duration::from_micros(200));
}
// ANCHOR_END: base_loop

// ANCHOR: threaded_loop
/// `ThreadedProducer`: the same `send`, but a background thread polls, so
/// the sending loop never serves callbacks. On QueueFull it waits a moment
/// for that thread to make room; any other error ends the run.
pub fn threaded_loop(
    producer: &ThreadedProducer<Timing>,
    topic: &str,
    load: Load<'_>,
) -> Result<()> {
    let start = producer.context().start;
    let pace = Pace::new(load.rate);
    for i in 0..load.records {
        if let Some(wait) = pace.ahead(i) {
            std::thread::sleep(wait);
        }
        let sent_at = start.elapsed().as_micros() as usize;
        let mut record =
            BaseRecord::<(), [u8], usize>::with_opaque_to(topic, sent_at).payload(load.payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    std::thread::sleep(Duration::from_millis(1));
                    record = returned;
                }
                Err((error, _)) => return Err(error).context("send"),
            }
        }
    }
    // The background thread serves the reports; wait for the queue to drain
    // (in 1 ms steps rather than `flush`'s 100 ms ones), then confirm.
    let deadline = Instant::now() + STALL_TIMEOUT;
    while producer.in_flight_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    producer
        .flush(Duration::from_secs(1))
        .context("flush: records still undelivered")?;
    Ok(())
}
// ANCHOR_END: threaded_loop

//! Sending at full speed from async code. Two patterns, both with a bound
//! on the records in flight (the back-pressure an async task can await):
//!
//! - [`window_loop`]: `FutureProducer`, its `DeliveryFuture`s kept in a
//!   `FuturesUnordered` by the sending task itself — no channel, no second
//!   task;
//! - [`permit_loop`]: `ThreadedProducer` whose delivery callback hands back
//!   a semaphore permit — no future, no allocation per record.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{
    BaseRecord, DeliveryFuture, FutureProducer, FutureRecord, Producer, ProducerContext,
    ThreadedProducer,
};
use tokio::sync::Semaphore;

use super::config::{ProducerSettings, producer_config};
use super::measure::{Latencies, Load, Measured, Pace};
use super::send::{Timing, measured, warm_up};

/// Records in flight at most: librdkafka's own queue bound
/// (`queue.buffering.max.messages` in [`producer_config`]), so the
/// application waits where librdkafka would answer QueueFull.
pub const IN_FLIGHT: usize = 100_000;

/// `FutureProducer` end to end with [`window_loop`].
pub async fn run_future_window(
    bootstrap: &str,
    topic: &str,
    settings: &ProducerSettings,
    load: Load<'_>,
) -> Result<Measured> {
    let producer: FutureProducer = producer_config(bootstrap, settings).create()?;
    warm_up(producer.client(), topic)?;
    let latencies = Latencies::with_capacity(load.records);
    let started = Instant::now();
    window_loop(&producer, topic, load, &latencies).await?;
    measured(&latencies, started, load)
}

// ANCHOR: window_loop
/// `FutureProducer` from one task: every `send_result` gives a
/// `DeliveryFuture`, kept in a `FuturesUnordered` (polled only when the
/// task asks). Up to [`IN_FLIGHT`] are outstanding; at the bound, or when
/// librdkafka's queue is full, the task awaits the next delivery instead
/// of sending. Completed deliveries are collected without waiting
/// (`now_or_never`) every so often, so the set stays small.
pub async fn window_loop(
    producer: &FutureProducer,
    topic: &str,
    load: Load<'_>,
    latencies: &Latencies,
) -> Result<()> {
    let pace = Pace::new(load.rate);
    let mut in_flight = FuturesUnordered::new();
    let track = |sent: Instant, delivery: DeliveryFuture| async move { (sent, delivery.await) };
    for i in 0..load.records {
        if let Some(wait) = pace.ahead(i) {
            tokio::time::sleep(wait).await;
        }
        while in_flight.len() >= IN_FLIGHT {
            settle(in_flight.next().await, latencies);
        }
        let mut record = FutureRecord::<(), [u8]>::to(topic).payload(load.payload);
        let sent = Instant::now();
        let delivery = loop {
            match producer.send_result(record) {
                Ok(delivery) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    match in_flight.next().await {
                        Some(done) => settle(Some(done), latencies),
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                Err((error, _)) => return Err(error).context("send_result"),
            }
        };
        in_flight.push(track(sent, delivery));
        if i % 1024 == 0 {
            // Collect what has completed so far, without waiting.
            while let Some(Some(done)) = futures::FutureExt::now_or_never(in_flight.next()) {
                settle(Some(done), latencies);
            }
        }
    }
    while let Some(done) = in_flight.next().await {
        settle(Some(done), latencies);
    }
    Ok(())
}

type Settled = (Instant, <DeliveryFuture as std::future::Future>::Output);

/// Records one finished delivery: its latency, or its error.
fn settle(done: Option<Settled>, latencies: &Latencies) {
    match done {
        Some((sent, Ok(Ok(_)))) => latencies.record(sent.elapsed()),
        Some((_, Ok(Err((error, _))))) => latencies.fail(&error),
        Some((_, Err(_))) => latencies.fail(&KafkaError::Canceled),
        None => {}
    }
}
// ANCHOR_END: window_loop

// ANCHOR: permits
/// The delivery callback of [`permit_loop`]: [`Timing`]'s latency and
/// errors, plus one semaphore permit handed back per finished record.
pub struct Permits {
    timing: Timing,
    permits: Semaphore,
}

impl Permits {
    pub fn new(records: u64) -> Self {
        Permits {
            timing: Timing::new(records),
            permits: Semaphore::new(IN_FLIGHT),
        }
    }
}

impl ClientContext for Permits {}

impl ProducerContext for Permits {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_at_micros: usize) {
        self.timing.delivery(result, sent_at_micros);
        // Delivered or failed, the record is no longer in flight.
        self.permits.add_permits(1);
    }
}
// ANCHOR_END: permits

/// `ThreadedProducer` + [`Permits`] end to end with [`permit_loop`].
pub async fn run_permits(
    bootstrap: &str,
    topic: &str,
    settings: &ProducerSettings,
    load: Load<'_>,
) -> Result<Measured> {
    let producer: ThreadedProducer<Permits> =
        producer_config(bootstrap, settings).create_with_context(Permits::new(load.records))?;
    warm_up(producer.client(), topic)?;
    let started = Instant::now();
    permit_loop(&producer, topic, load).await?;
    measured(producer.context().timing.latencies(), started, load)
}

// ANCHOR: permit_loop
/// `ThreadedProducer` from async code: take a permit before each `send`
/// (an `await` that waits only while [`IN_FLIGHT`] records are
/// unconfirmed), the delivery callback returns it. `send` itself never
/// blocks, so it is fine inside a task. At the end, taking back every
/// permit means every record was confirmed — nothing left to `flush`.
pub async fn permit_loop(
    producer: &ThreadedProducer<Permits>,
    topic: &str,
    load: Load<'_>,
) -> Result<()> {
    let context = producer.context();
    let pace = Pace::new(load.rate);
    for i in 0..load.records {
        if let Some(wait) = pace.ahead(i) {
            tokio::time::sleep(wait).await;
        }
        context.permits.acquire().await?.forget();
        let sent_at = context.timing.micros_since_start();
        let mut record =
            BaseRecord::<(), [u8], usize>::with_opaque_to(topic, sent_at).payload(load.payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                // queue.buffering.max.kbytes can still fill up first.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    record = returned;
                }
                Err((error, _)) => return Err(error).context("send"),
            }
        }
    }
    let all = u32::try_from(IN_FLIGHT)?;
    tokio::time::timeout(
        super::measure::STALL_TIMEOUT,
        context.permits.acquire_many(all),
    )
    .await
    .map_err(|_| {
        anyhow!(
            "records still unconfirmed after {:?}",
            super::measure::STALL_TIMEOUT
        )
    })??
    .forget();
    Ok(())
}
// ANCHOR_END: permit_loop

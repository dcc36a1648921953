//! A custom partitioner, and the producers that apply it: `BaseProducer`
//! and `ThreadedProducer` do, `FutureProducer` silently does not.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{
    BaseRecord, FutureProducer, FutureRecord, Partitioner, Producer, ProducerContext,
    ThreadedProducer,
};

use super::builtin::{DELIVERY_TIMEOUT, await_delivery};

/// How long the last delivery callbacks may take after `flush` returned.
const CALLBACK_WAIT: Duration = Duration::from_secs(10);

/// How often librdkafka consulted a partitioner. Shared, so it can still be
/// read after the partitioner was handed to a producer.
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    pub fn record(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

// ANCHOR: round_robin
/// A custom partitioner: strict turns over the partitions, skipping any
/// without a leader. librdkafka may call it from any thread (the sender's or
/// one of its own), so it must be cheap, non-blocking and thread-safe; an
/// atomic counter is all it needs.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
    pub calls: Calls,
}

impl Partitioner for RoundRobin {
    fn partition(
        &self,
        _topic: &str,
        _key: Option<&[u8]>,
        partition_cnt: i32,
        is_available: impl Fn(i32) -> bool,
    ) -> i32 {
        self.calls.record();
        let count = partition_cnt.max(1) as usize;
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|step| ((first + step) % count) as i32)
            .find(|p| is_available(*p))
            .unwrap_or((first % count) as i32)
    }
}
// ANCHOR_END: round_robin

// ANCHOR: custom_context
/// The producer context hands the custom partitioner to librdkafka
/// (`get_custom_partitioner`) and records where every record was delivered,
/// or why not (the delivery opaque is the record's index in send order).
pub struct WithPartitioner<P> {
    partitioner: P,
    delivered: Mutex<Vec<(usize, Result<i32, KafkaError>)>>,
}

impl<P> WithPartitioner<P> {
    pub fn new(partitioner: P) -> Self {
        WithPartitioner {
            partitioner,
            delivered: Mutex::new(Vec::new()),
        }
    }
}

impl<P: Send + Sync> ClientContext for WithPartitioner<P> {}

impl<P: Partitioner + Send + Sync> ProducerContext<P> for WithPartitioner<P> {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let outcome = match result {
            Ok(message) => Ok(message.partition()),
            Err((error, _)) => Err(error.clone()),
        };
        let mut delivered = self.delivered.lock().unwrap_or_else(|e| e.into_inner());
        delivered.push((index, outcome));
    }

    fn get_custom_partitioner(&self) -> Option<&P> {
        Some(&self.partitioner)
    }
}
// ANCHOR_END: custom_context

// ANCHOR: threaded_producer
/// Sends one record per entry of `keys` (`None` = no key) through a
/// `ThreadedProducer` whose context carries `partitioner`; returns the
/// partition of each record in send order.
///
/// `BaseProducer::from_config_and_context` asks the context for a
/// partitioner and registers it with librdkafka, so this producer uses it
/// for keyed records. Keyless records reach it only if
/// `sticky.partitioning.linger.ms` is 0: otherwise librdkafka's sticky
/// logic places them and never calls the custom partitioner.
pub fn send_with_partitioner<P>(
    config: &ClientConfig,
    topic: &str,
    partitioner: P,
    keys: &[Option<&str>],
) -> Result<Vec<i32>>
where
    P: Partitioner + Send + Sync + 'static,
{
    let producer: ThreadedProducer<WithPartitioner<P>, P> =
        config.create_with_context(WithPartitioner::new(partitioner))?;
    // Warm-up with an explicit partition (no partitioner involved), so the
    // topic's metadata is known before the measured records.
    let warm_up = BaseRecord::<str, str, usize>::with_opaque_to(topic, usize::MAX)
        .partition(0)
        .payload("warm-up");
    enqueue(&producer, warm_up)?;
    producer.flush(DELIVERY_TIMEOUT)?;
    for (index, key) in keys.iter().enumerate() {
        let mut record = BaseRecord::with_opaque_to(topic, index).payload("x");
        if let Some(key) = key {
            record = record.key(*key);
        }
        enqueue(&producer, record)?;
    }
    producer.flush(DELIVERY_TIMEOUT)?;
    // flush() returns once librdkafka handed out the last delivery report;
    // the producer's polling thread may still be running our callback.
    let deadline = Instant::now() + CALLBACK_WAIT;
    loop {
        let mut delivered = producer
            .context()
            .delivered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        delivered.retain(|(index, _)| *index != usize::MAX);
        if delivered.len() == keys.len() {
            delivered.sort_unstable_by_key(|(index, _)| *index);
            return delivered
                .into_iter()
                .map(|(index, outcome)| {
                    outcome.with_context(|| format!("delivering record {index}"))
                })
                .collect();
        }
        if Instant::now() > deadline {
            bail!(
                "{} of {} delivery reports arrived",
                delivered.len(),
                keys.len()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `send`, waiting while librdkafka's local queue is full (its polling
/// thread frees room as delivery reports come in); any other error is
/// returned.
fn enqueue<P>(
    producer: &ThreadedProducer<WithPartitioner<P>, P>,
    mut record: BaseRecord<'_, str, str, usize>,
) -> Result<(), KafkaError>
where
    P: Partitioner + Send + Sync + 'static,
{
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                record = unsent;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((error, _)) => return Err(error),
        }
    }
}
// ANCHOR_END: threaded_producer

// ANCHOR: future_producer_ignores
/// The same context, given to a `FutureProducer`. It compiles and runs — and
/// the partitioner is never asked: `FutureProducer` wraps the context in its
/// own `FutureProducerContext`, whose `get_custom_partitioner` is the trait's
/// default `None` (rust-rdkafka issue #741). The records are placed by the
/// `partitioner` setting instead.
pub async fn send_through_future_producer<P>(
    config: &ClientConfig,
    topic: &str,
    partitioner: P,
    keys: &[&str],
) -> Result<Vec<i32>>
where
    P: Partitioner + Send + Sync + 'static,
{
    let producer: FutureProducer<WithPartitioner<P>> =
        config.create_with_context(WithPartitioner::new(partitioner))?;
    let mut deliveries = Vec::with_capacity(keys.len());
    for key in keys {
        let record = FutureRecord::to(topic).key(*key).payload(*key);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e)?);
    }
    let mut partitions = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        partitions.push(await_delivery(delivery).await?);
    }
    Ok(partitions)
}
// ANCHOR_END: future_producer_ignores

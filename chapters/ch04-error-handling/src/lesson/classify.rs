//! Which errors to retry and which to fail fast on — and the two send-side
//! errors that show it: a full local queue (wait, then offer the record
//! again) and a topic that does not exist (retrying cannot create it).

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::ToBytes;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

/// What to do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Transient: librdkafka already retries it (within `message.timeout.ms`).
    LibrdkafkaRetries,
    /// The local queue is full: slow the source down, then send again.
    BackOff,
    /// Retrying cannot help: fix the input, the config or the cluster.
    FailFast,
    /// The client instance is unusable (e.g. a fatal idempotence error): recreate it.
    Recreate,
    /// librdkafka already retried until `message.timeout.ms`: alert, set the
    /// record aside, or let the caller decide — retrying again only extends the timeout.
    RetriesExhausted,
}

// ANCHOR: classify
/// The errors a producer and a consumer really meet, and the strategy for each.
pub fn classify(error: &KafkaError) -> Strategy {
    use RDKafkaErrorCode as E;
    match error.rdkafka_error_code() {
        Some(E::QueueFull) => Strategy::BackOff,
        // Retried internally until message.timeout.ms; if it still surfaces,
        // the outage outlasted the timeout the application chose.
        Some(
            E::BrokerTransportFailure
            | E::AllBrokersDown
            | E::NotEnoughReplicas
            | E::NotEnoughReplicasAfterAppend
            | E::LeaderNotAvailable
            | E::NotLeaderForPartition
            | E::RequestTimedOut,
        ) => Strategy::LibrdkafkaRetries,
        Some(E::MessageTimedOut) => Strategy::RetriesExhausted,
        Some(E::Fatal) => Strategy::Recreate,
        Some(
            E::MessageSizeTooLarge
            | E::UnknownTopicOrPartition
            | E::UnknownTopic
            | E::TopicAuthorizationFailed
            | E::ClusterAuthorizationFailed
            | E::GroupAuthorizationFailed
            | E::InvalidConfig,
        ) => Strategy::FailFast,
        _ => Strategy::FailFast,
    }
}
// ANCHOR_END: classify

/// A producer for this chapter (idempotent, bounded).
pub fn producer_config(bootstrap: &str, timeout_ms: u32) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", timeout_ms.to_string());
    config
}

// ANCHOR: enqueue
/// Hands one record to librdkafka and returns the future of its delivery
/// report. `QueueFull` is the one send error that waiting fixes: the local
/// queue (`queue.buffering.max.messages`) drains as the broker acknowledges
/// batches, so we wait a moment and offer the same record again — for at
/// most `wait`. Every other error (an oversized record, an unknown
/// partition, a fatal producer) is returned at once, for [`classify`].
pub async fn enqueue<'a, K, P>(
    producer: &FutureProducer,
    mut record: FutureRecord<'a, K, P>,
    wait: Duration,
) -> Result<DeliveryFuture, KafkaError>
where
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
{
    let deadline = Instant::now() + wait;
    loop {
        match producer.send_result(record) {
            Ok(delivery) => return Ok(delivery),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned))
                if Instant::now() < deadline =>
            {
                record = returned; // the same record, offered again
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// [`enqueue`], then the broker's answer: the record's (partition, offset),
/// or why it was not stored.
pub async fn send<K, P>(
    producer: &FutureProducer,
    record: FutureRecord<'_, K, P>,
) -> Result<(i32, i64), KafkaError>
where
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
{
    let delivery = enqueue(producer, record, Duration::from_secs(10)).await?;
    match delivery.await {
        Ok(Ok(delivered)) => Ok((delivered.partition, delivered.offset)),
        Ok(Err((error, _unsent))) => Err(error),
        // The producer went away before it reported.
        Err(_canceled) => Err(KafkaError::Canceled),
    }
}
// ANCHOR_END: enqueue

// ANCHOR: unknown_topic
/// Writing to a topic that does not exist (broker auto-creation off).
/// librdkafka waits up to `topic.metadata.propagation.max.ms` (default 30 s)
/// for the topic to appear — it might just have been created — and only
/// then fails the record with `UnknownTopicOrPartition`. If
/// `message.timeout.ms` runs out first, all you learn is "timed out".
pub async fn send_to(
    bootstrap: &str,
    topic: &str,
    timeout_ms: u32,
    propagation_ms: Option<u32>,
) -> Result<(), KafkaError> {
    let mut config = producer_config(bootstrap, timeout_ms);
    if let Some(ms) = propagation_ms {
        config.set("topic.metadata.propagation.max.ms", ms.to_string());
    }
    let producer: FutureProducer = config.create()?;
    let record = FutureRecord::<(), _>::to(topic).payload("hello");
    send(&producer, record).await.map(|_| ())
}
// ANCHOR_END: unknown_topic

//! Solution: ex-queue-full (二.2).

use std::time::Duration;

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, ThreadedProducer};

pub type Sender = ThreadedProducer<DefaultProducerContext>;

/// A producer whose local queue holds only `queue_size` records, so `send`
/// answers `QueueFull` as soon as the broker falls behind by that many.
pub fn small_queue_producer(bootstrap: &str, queue_size: u32) -> Result<Sender> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("queue.buffering.max.messages", queue_size.to_string())
        .set("message.timeout.ms", "30000")
        .create()?)
}

/// Sends every `(key, payload)` to `topic` and returns how many times the
/// queue was full. Every record must reach the broker exactly once, in
/// order; a record librdkafka refuses for any other reason is an error.
pub async fn send_all(
    producer: &Sender,
    topic: &str,
    records: &[(String, Vec<u8>)],
) -> Result<u64> {
    let mut queue_full = 0;
    for (i, (key, payload)) in records.iter().enumerate() {
        let mut record = BaseRecord::to(topic).key(key).payload(payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                    // Deliveries free room in the queue; the producer's own
                    // thread serves them while we wait, then send it again.
                    queue_full += 1;
                    record = unsent;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => bail!("record #{i} could not be enqueued: {error}"),
            }
        }
    }
    Ok(queue_full)
}

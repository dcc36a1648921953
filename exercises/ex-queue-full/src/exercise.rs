//! 二.2 exercise: keep every record when librdkafka's local queue is full.
//!
//! `send` on a `ThreadedProducer` only enqueues the record. When the queue
//! (`queue.buffering.max.messages`) is full it hands the record back with
//! `KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)`. The code
//! below treats that like any other error and gives up — a busy producer
//! would lose records. Make it wait and try again, *only* for that error.

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
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
#[allow(clippy::never_loop)] // until the TODO makes it retry
pub async fn send_all(
    producer: &Sender,
    topic: &str,
    records: &[(String, Vec<u8>)],
) -> Result<u64> {
    #[allow(unused_mut)] // the TODO below changes it
    let mut queue_full = 0;
    for (i, (key, payload)) in records.iter().enumerate() {
        #[allow(unused_mut)]
        let mut record = BaseRecord::to(topic).key(key).payload(payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                // TODO: when the queue is full, count it in `queue_full`, wait
                // a few milliseconds (deliveries make room) and send the record
                // librdkafka handed back (`unsent`) again. Every other error
                // must still end the function with a message.
                Err((error, _unsent)) => bail!("record #{i} could not be enqueued: {error}"),
            }
        }
    }
    Ok(queue_full)
}

//! 二.5 exercise: retries that cannot duplicate.
//!
//! This producer was tuned for speed: the leader's acknowledgement only
//! (`acks=1`) and many requests in flight. When an answer from the broker
//! is lost, librdkafka cannot tell whether the batch was written, so it
//! sends it again — and the broker stores it twice.
//!
//! Make the producer idempotent, so the broker recognises a retried batch
//! and keeps one copy. librdkafka refuses to create an idempotent producer
//! with settings that contradict it; its error message says which.

use rdkafka::ClientConfig;

/// The producer the test sends 3000 records with, through a proxy that
/// withholds the broker's answers to three batches.
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "5")
        .set("batch.num.messages", "100")
        .set("message.timeout.ms", "20000")
        .set("enable.idempotence", "true");
    config
}

//! 二.3 exercise: keys on the same partitions as the Java client.
//!
//! A topic is usually shared: a Java service (or Kafka Streams, or a
//! connector) writes some of its records, your Rust service others. For a
//! key to keep its order, every producer must put it on the same partition —
//! which means hashing it the same way. librdkafka's default partitioner
//! hashes keys with CRC32; the Java client uses murmur2.

use rdkafka::ClientConfig;

/// A producer whose keyed records land where the Java client's would.
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000");
    config.set("partitioner", "murmur2_random");
    config
}

//! Reference solution of `ex-linger` (四.7).

use rdkafka::ClientConfig;

/// The most a record may wait in a batch for company: the service's
/// latency budget for batching.
pub const MAX_LINGER_MS: u64 = 50;

/// The producer of the service.
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        // At 1000 records/s a batch collects about one record per
        // millisecond it waits: 40 ms gives requests of about 40 records,
        // with room to spare above 10, inside the 50 ms budget.
        .set("linger.ms", "40");
    config
}

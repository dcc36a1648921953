//! 四.7 exercise: a service sends about 1000 records a second, one at a
//! time, as they come. With `linger.ms=0` librdkafka sends whatever is in
//! the queue at once, so nearly every record travels in a request of its
//! own: a request per millisecond, each with its own header, its own CRC
//! and its own round of acknowledgements on the broker.
//!
//! `linger.ms` lets a batch wait for company: up to that long after its
//! first record. At a steady rate, a longer wait means fuller requests —
//! and every record waiting up to that much longer.

use rdkafka::ClientConfig;

/// The most a record may wait in a batch for company: the service's
/// latency budget for batching.
pub const MAX_LINGER_MS: u64 = 50;

/// The producer of the service. The check sends 400 records at about 1000
/// records/s with it and counts the Produce requests (librdkafka's
/// statistics): each must carry 10 records or more on average, and
/// `linger.ms` must stay within [`MAX_LINGER_MS`].
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        // TODO: let each batch wait long enough for about 10 or more
        // records at 1000 records/s — and no longer than MAX_LINGER_MS.
        .set("linger.ms", "0");
    config
}

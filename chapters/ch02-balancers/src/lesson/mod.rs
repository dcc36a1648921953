//! The lesson of 二.3: which partition a record goes to.
//!
//! - [`builtin`]: a keyed record is placed by a hash of its key, and the
//!   `partitioner` setting picks the hash; a keyless record is placed by the
//!   sticky partitioner (one random partition for a few milliseconds, then
//!   another);
//! - [`custom`]: when no built-in rule fits, a custom `Partitioner` — which
//!   only `BaseProducer`/`ThreadedProducer` apply, never `FutureProducer`;
//! - [`explicit`]: or the application names the partition on the record
//!   (round-robin, kafka-go's `LeastBytes`).

pub mod builtin;
pub mod custom;
pub mod explicit;

pub use builtin::{
    DELIVERY_TIMEOUT, HASHING_PARTITIONERS, await_delivery, placements, producer_config, send_all,
};
pub use custom::{
    Calls, RoundRobin, WithPartitioner, send_through_future_producer, send_with_partitioner,
};
pub use explicit::{LeastBytes, send_least_bytes, send_round_robin};

//! The lesson of 二.4: what an acknowledgement means.
//!
//! `acks` decides when the leader answers a produce request: never (0),
//! after writing to its own log (1), or after every in-sync replica has the
//! record (all, with at least `min.insync.replicas` of them).
//!
//! - [`cost`]: a producer per level, the offset it learns (or not), and
//!   what each level costs;
//! - [`durability`]: the topic the failure drill (in [`crate::lab`]) breaks
//!   on purpose, and a producer that counts what was acknowledged.

pub mod cost;
pub mod durability;

pub use cost::{
    ACKS, Measurement, latency, measure, producer_config, send_and_report_offset, throughput,
};
pub use durability::{
    counting_producer, create_durability_topic, produce_and_count_acks, send_numbered,
};

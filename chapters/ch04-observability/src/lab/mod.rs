//! The lab of 四.5: what proves the lesson.
//!
//! - [`tool`]: Kafka's own `kafka-consumer-groups --describe`, parsed;
//! - [`snapshots`]: waiting for statistics, reading a topic's partitions;
//! - [`load`]: a known number of records per partition;
//! - [`pace`]: a producer at a steady rate, watched through its statistics;
//! - [`link`]: a slow link (delaying relay) on the proxy port;
//! - [`scrape`]: `GET /metrics` as Prometheus does it;
//! - [`cadence`]: the `BaseProducer` of the callback-cadence experiment;
//! - [`transaction`]: a transaction left open, to move the LSO and the
//!   high watermark apart.

pub mod cadence;
pub mod link;
pub mod load;
pub mod pace;
pub mod scrape;
pub mod snapshots;
pub mod tool;
pub mod transaction;

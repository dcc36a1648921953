//! 二.3 分区策略: which partition a record goes to.
//!
//! - [`lesson`]: the `partitioner` setting and the hashes behind it, keyless
//!   records and the sticky partitioner, a custom `Partitioner` (and the
//!   producer that ignores it), partitions chosen by the application — the
//!   code the book page shows;
//! - [`lab`]: the proof — reference hashes, Kafka's Java client and kafka-go
//!   writing the same keys, and the counts the experiments report.

pub mod lab;
pub mod lesson;

pub use lesson::*;

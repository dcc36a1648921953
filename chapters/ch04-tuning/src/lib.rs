//! Chapter 四.7 配置调优: what `linger.ms`, `batch.size`, compression, acks,
//! idempotence, the producer type and the consumer's fetch settings do to
//! throughput, latency and CPU.
//!
//! - [`lesson`]: what the page teaches — the knobs, the send loops of the
//!   three producer types, the consume loop, the synchronous-send trap.
//! - [`lab`]: the payload every client sends and the steps of the short
//!   demonstration (`cargo run --release -p ch04-tuning`).
//!
//! The comparison with Kafka's Java perf tools and kafka-go — CPU per
//! million records, the ratio table, the charts — is the benchmark lab, a
//! crate of its own (`labs/bench`, `cargo xtask bench`, 附录 E), which calls
//! the lesson functions of this crate.

pub mod lab;
pub mod lesson;

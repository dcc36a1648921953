//! What 四.7 配置调优 teaches, one idea per file:
//!
//! - [`config`]: the knobs — batching (`linger.ms`, `batch.size`,
//!   `batch.num.messages`), `compression.type`, `acks`, the client queue
//!   (`queue.buffering.max.*`), and the consumer's fetch and prefetch settings;
//! - [`measure`]: what a run measures (throughput, send → delivery latency);
//! - [`send`]: the send loops of `BaseProducer` and `ThreadedProducer` —
//!   QueueFull answered by serving reports and retrying, every other error
//!   surfaced, the queue drained before `flush`;
//! - [`future`]: `FutureProducer` with thousands of deliveries in flight, and
//!   the synchronous-send trap;
//! - [`consume`]: the consume loop.

pub mod config;
pub mod consume;
pub mod future;
pub mod measure;
pub mod send;

pub use config::{
    Acks, CONSUMER_KEYS, Compression, ConsumerSettings, PRODUCER_KEYS, ProducerSettings,
    consumer_config, producer_config,
};
pub use consume::run_consumer;
pub use future::{run_future, sync_sends};
pub use measure::{Load, Measured, Percentiles};
pub use send::{run_base, run_threaded};

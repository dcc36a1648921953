//! What 四.7 配置调优 teaches, one idea per file:
//!
//! - [`config`]: the knobs — batching (`linger.ms`, `batch.size`,
//!   `batch.num.messages`), `compression.type`, `acks`, the client queue
//!   (`queue.buffering.max.*`), the consumer's fetch and prefetch settings,
//!   and the recommended settings per workload;
//! - [`measure`]: what a run measures (throughput, send → delivery latency);
//! - [`send`]: the send loops of `BaseProducer` and `ThreadedProducer` —
//!   QueueFull answered by serving reports and retrying, every other error
//!   surfaced, the queue drained before `flush`;
//! - [`future`]: `FutureProducer` with thousands of deliveries in flight, and
//!   the synchronous-send trap;
//! - [`async_send`]: sending at full speed from async code — a semaphore
//!   permit per record returned by `ThreadedProducer`'s delivery callback,
//!   or `FutureProducer` with the task's own bounded `FuturesUnordered`;
//! - [`consume`]: the consume loop.

pub mod async_send;
pub mod config;
pub mod consume;
pub mod future;
pub mod measure;
pub mod send;

pub use async_send::{run_future_window, run_permits};
pub use config::{
    Acks, CONSUMER_KEYS, Compression, ConsumerSettings, PRODUCER_KEYS, ProducerSettings,
    QUEUE_KBYTES, consumer_config, fast_consumer, large_records, low_latency, producer_config,
    small_records,
};
pub use consume::run_consumer;
pub use future::{run_future, sync_sends};
pub use measure::{Load, Measured, Percentiles};
pub use send::{run_base, run_threaded};

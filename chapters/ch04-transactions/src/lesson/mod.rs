//! The lesson of 四.4 事务与精确一次, one idea per file:
//!
//! - [`producer`]: the transactional producer, bounded calls, and the three
//!   error classes librdkafka documents (retry, abort, fatal);
//! - [`exactly_once`]: the read-process-write loop — consume with
//!   `read_committed`, produce, send the offsets into the transaction,
//!   commit; abort and rewind when told to; commit or abort on revoke;
//! - [`at_least_once`]: the same loop without a transaction, for contrast;
//! - [`batching`]: what both loops share (batch limits, stages, totals,
//!   the transform, a send that waits out a full queue);
//! - [`isolation`]: what a reader sees — `isolation.level`, the high
//!   watermark and the last stable offset.

pub mod at_least_once;
pub mod batching;
pub mod exactly_once;
pub mod isolation;
pub mod producer;

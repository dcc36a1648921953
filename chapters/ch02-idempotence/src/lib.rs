//! 二.5 幂等生产者.
//!
//! - [`lesson`]: the idempotent producer's configuration, the settings it
//!   refuses, and a send loop that counts what the producer was told — the
//!   code the book page shows;
//! - [`lab`]: a fault proxy (on [`tutorial_lab::relay::Relay`]) between the
//!   producer and a real broker that swallows the answers to batches the
//!   broker has written, the batch-header parser that watches every retry,
//!   the audit of what was stored, and the same run with kafka-go.

pub mod lab;
pub mod lesson;

pub use lesson::*;

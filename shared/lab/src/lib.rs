//! Lab and test machinery for "Rust 与 Kafka 实战": what *proves* the
//! lessons, kept apart from them.
//!
//! - [`testing`]: a real cluster or a clear failure, unique names, bounded
//!   waits, produce-and-collect helpers, committed offsets, child processes
//!   a test watches and kills;
//! - [`process`]: bounded child processes that return errors, not panics;
//! - [`go`]: a chapter's kafka-go program;
//! - [`relay`]: the one TCP relay (cuttable link, fault proxies);
//! - [`local_cluster`]: pausing, killing and restarting the local brokers.
//!
//! Chapters use it as a dev-dependency, or as a dependency when their
//! showcase runs a lab step.

pub mod go;
pub mod local_cluster;
pub mod process;
pub mod relay;
pub mod testing;

pub use local_cluster::{Faults, nodes};
pub use testing::*;

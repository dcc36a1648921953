//! Where things live: the workspace, the jar cache, the broker data.

use std::path::PathBuf;

pub use tutorial_support::kafka_tools::{cache_dir as cache, workspace};

/// Broker data, logs and pid files: under `target/`, so `cargo clean` removes them.
pub fn kafka_state() -> PathBuf {
    workspace().join("target").join("kafka")
}

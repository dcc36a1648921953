//! Where things live: the workspace, the jar cache, the broker data.

pub use kafka_layout::{cache_dir as cache, kafka_state, workspace};

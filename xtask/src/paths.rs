//! Where things live: the workspace, the jar cache, the broker data.

use std::path::PathBuf;

/// The workspace root (the parent of `xtask/`).
pub fn workspace() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Downloads and tools shared by every checkout on this machine, outside the
/// source tree: `$RUST_KAFKA_TUTORIAL_CACHE`, else `$XDG_CACHE_HOME/rust-kafka-tutorial`,
/// else `~/.cache/rust-kafka-tutorial`.
pub fn cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("RUST_KAFKA_TUTORIAL_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| workspace().join("target"));
    base.join("rust-kafka-tutorial")
}

/// Broker data, logs and pid files: under `target/`, so `cargo clean` removes them.
pub fn kafka_state() -> PathBuf {
    workspace().join("target").join("kafka")
}

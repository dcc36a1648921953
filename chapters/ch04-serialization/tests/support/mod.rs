//! The Python peer of the interop tests, in a virtual environment under
//! `target/py-ch04` (created on first use; CARGO_TARGET_TMPDIR is `target/tmp`).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ch04_serialization::lab::python::PythonPeer;

static PEER: LazyLock<PythonPeer> = LazyLock::new(|| {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir");
    PythonPeer::new(target.join("py-ch04"))
});

/// Runs `clicks.py` with `args`; returns stdout, panics with both streams on failure.
pub fn clicks_py(args: &[&str]) -> String {
    PEER.clicks_py(args).unwrap_or_else(|e| panic!("{e:#}"))
}

/// The compiled .proto files as a FileDescriptorSet file for Python.
pub fn descriptor_file() -> PathBuf {
    PEER.descriptor_file().unwrap_or_else(|e| panic!("{e:#}"))
}

//! Tracing setup shared by the binaries.

use tracing_subscriber::EnvFilter;

/// Diagnostics go to stderr; the chapter's narrative goes to stdout.
///
/// librdkafka's own log lines are off by default: while it retries an
/// unreachable broker it logs the same connection error every second, and our
/// bounded checks already report that once, clearly. `RUST_LOG=librdkafka=debug`
/// turns them back on.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,librdkafka=off,rdkafka=warn"));
    // Ignore the error: a test harness may already have installed a subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

//! The sink's options and what it did.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    pub topic: String,
    pub path: PathBuf,
    /// Also write the ledger of counted event ids.
    pub ledger: bool,
    /// Exactly-once (offsets in the database) or at-least-once (offsets
    /// committed to the consumer group after the database write).
    pub offsets_in_db: bool,
    pub max_batch: usize,
    pub batch_time: Duration,
    /// How long a write waits for a lock another connection holds.
    pub busy: Duration,
    /// Set while every assigned partition is read to its end and nothing
    /// waits to be written; cleared by the next record.
    pub caught_up: Arc<AtomicBool>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub results: u64,
    pub batches: u64,
    /// Time spent ending batches (database transaction, and at-least-once's
    /// offset commit).
    pub commit_time: Duration,
}

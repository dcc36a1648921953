//! Reference solution of `ex-window-checkpoint` (五).

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaResult;
use rdkafka::{Offset, TopicPartitionList};

/// How long the commit may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Where one input partition stands.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The offset after the last record handled.
    pub next: i64,
    /// The offset of the first record of every window still open.
    pub open_windows: Vec<i64>,
    /// The checkpoint to store with the offset (`closed=…;next=…`).
    pub checkpoint: String,
}

/// The offset to commit: a restarted transform reads from it and must find
/// every record of every open window there. With no window open, `next`.
pub fn offset_to_commit(progress: &Progress) -> i64 {
    // The oldest open window's first record: the committed offset cannot
    // pass it (五's `PartitionWindows::checkpoint`).
    progress
        .open_windows
        .iter()
        .copied()
        .min()
        .unwrap_or(progress.next)
}

/// Commits [`offset_to_commit`] for `topic`/`partition`, with the
/// checkpoint as the offset's metadata, and waits for the broker's answer.
pub fn commit_progress(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
    progress: &Progress,
) -> KafkaResult<()> {
    let mut offsets = TopicPartitionList::new();
    let mut element = offsets.add_partition(topic, partition);
    element.set_offset(Offset::Offset(offset_to_commit(progress)))?;
    element.set_metadata(progress.checkpoint.clone());
    consumer.commit(&offsets, CommitMode::Sync)
}

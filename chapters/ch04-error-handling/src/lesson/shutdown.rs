//! Bounded shutdown: commit what was processed and leave the group, but
//! never wait longer than the caller chose — the coordinator may be gone.

use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// How a bounded shutdown ended.
#[derive(Debug)]
pub enum Closed {
    /// The final commit was confirmed and the consumer closed.
    Committed,
    /// The group refused or failed the commit: the records processed since
    /// the last confirmed commit will be delivered again.
    CommitFailed(KafkaError),
    /// No answer within the limit. The commit and close go on in the
    /// background until librdkafka gives up (at `session.timeout.ms` when the
    /// coordinator is gone); the caller may exit. Records processed since the
    /// last confirmed commit will be delivered again, unless that background
    /// commit still gets through.
    GaveUp {
        pending: tokio::sync::oneshot::Receiver<Result<(), KafkaError>>,
    },
}

// ANCHOR: close_within
/// Commits what was processed and closes the consumer, but never waits
/// longer than `limit`. With the coordinator unreachable a synchronous
/// commit blocks until the group session times out (45 s by default), and
/// closing the consumer can block too — so both run on a thread of their
/// own, and the caller waits only as long as it chose to.
pub async fn close_within<C>(consumer: C, limit: Duration) -> Closed
where
    C: Consumer + Send + 'static,
{
    let (done, mut result) = tokio::sync::oneshot::channel();
    // A plain thread, not spawn_blocking: the runtime waits for blocking
    // tasks when it shuts down, which would bring the hang back at exit.
    std::thread::spawn(move || {
        let committed = consumer.commit_consumer_state(CommitMode::Sync);
        drop(consumer); // leaves the group (close); may block too
        let _ = done.send(committed);
    });
    match tokio::time::timeout(limit, &mut result).await {
        Ok(Ok(Ok(()))) => Closed::Committed,
        // Nothing stored since the last commit: nothing to lose either.
        Ok(Ok(Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)))) => Closed::Committed,
        Ok(Ok(Err(error))) => Closed::CommitFailed(error),
        // The thread ended without an answer (it panicked).
        Ok(Err(_)) => Closed::CommitFailed(KafkaError::Canceled),
        Err(_elapsed) => Closed::GaveUp { pending: result },
    }
}
// ANCHOR_END: close_within

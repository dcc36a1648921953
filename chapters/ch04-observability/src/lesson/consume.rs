//! The consumer loop that keeps statistics (and the group) alive.

use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use tokio_util::sync::CancellationToken;

use super::stats::StatsContext;

// ANCHOR: consume_loop
/// One task that is always awaiting `recv()`, until `stop`.
///
/// With a `group.id`, librdkafka puts the statistics on the same queue as
/// the messages, and `recv()` serves them in passing: the callback comes on
/// time even when no message arrives, or when every partition is paused.
/// A loop that stops calling `recv()` — a long piece of work, a paused
/// consumer nobody polls — stops the statistics too: they queue up and all
/// arrive at once on the next call.
///
/// Offsets are stored as messages are handed over (librdkafka's default)
/// and committed every `commit_every`, in the same `select!`.
pub async fn consume_until(
    consumer: &StreamConsumer<StatsContext>,
    stop: &CancellationToken,
    commit_every: Duration,
    mut handle: impl FnMut(&BorrowedMessage<'_>),
) -> KafkaResult<u64> {
    let mut handled = 0;
    let mut commit = tokio::time::interval(commit_every);
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = commit.tick() => commit_stored(consumer)?,
            message = consumer.recv() => {
                handle(&message?);
                handled += 1;
            }
        }
    }
    commit_stored(consumer)?;
    Ok(handled)
}

/// Commits what was stored. "Nothing stored since the last commit" is not
/// an error worth stopping for; every other failure is returned.
fn commit_stored(consumer: &StreamConsumer<StatsContext>) -> KafkaResult<()> {
    match consumer.commit_consumer_state(CommitMode::Async) {
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(()),
        other => other,
    }
}
// ANCHOR_END: consume_loop

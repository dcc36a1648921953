//! Ending a batch of the transform: exactly-once commits the transaction
//! (with each partition's checkpoint in the offsets' metadata) or aborts and
//! rewinds, as 四.4 does; at-least-once flushes and then commits the offsets.

use std::time::Instant;

use anyhow::{Context, Result};
use ch04_transactions::lesson::batching::Stage;
use ch04_transactions::lesson::exactly_once::rewind;
use ch04_transactions::lesson::producer::{
    CALL_TIMEOUT, Class, abort, classify, or_exit, retrying,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};

use super::{Mode, State, Transform};
use crate::lesson::observe::Observed;

impl Transform {
    // ANCHOR: end_batch
    /// The offset to commit for every partition this instance holds, each
    /// with its checkpoint in the offset's metadata.
    fn offsets(&self, state: &State) -> KafkaResult<TopicPartitionList> {
        let mut offsets = TopicPartitionList::new();
        for (partition, (windows, _)) in &state.partitions {
            let (offset, checkpoint) = windows.checkpoint();
            let mut element = offsets.add_partition(&self.options.input, *partition);
            element.set_offset(Offset::Offset(offset))?;
            element.set_metadata(checkpoint.to_metadata());
        }
        Ok(offsets)
    }

    /// Ends the batch: exactly-once commits the transaction (aborting and
    /// rewinding on an abortable error, as 四.4 does); at-least-once
    /// flushes and then commits the offsets.
    pub(super) fn end_batch(
        &self,
        consumer: &BaseConsumer<Transform>,
        state: &mut State,
        on_stage: &mut dyn FnMut(Stage),
    ) -> Result<()> {
        let offsets = self.offsets(state)?;
        state.open = None;
        let began = Instant::now();
        let outcome = match self.options.mode {
            Mode::ExactlyOnce => self.commit_transaction(consumer, &offsets, on_stage),
            Mode::AtLeastOnce => flush_patiently(&self.producer).and_then(|()| {
                on_stage(Stage::Produced);
                consumer.commit(&offsets, rdkafka::consumer::CommitMode::Sync)
            }),
        };
        match outcome {
            Ok(()) => {
                state.totals.transactions += 1;
                state.totals.commit_time += began.elapsed();
                on_stage(Stage::Committed);
                Ok(())
            }
            Err(error)
                if self.options.mode == Mode::ExactlyOnce && classify(&error) == Class::Abort =>
            {
                tracing::warn!("transaction aborted: {error}");
                abort(&self.producer)?;
                // The aborted results are gone: rebuild every window from
                // the committed offsets and checkpoints.
                state.partitions.clear();
                state.at_end.clear();
                rewind(consumer)?;
                state.totals.aborts += 1;
                on_stage(Stage::Aborted);
                Ok(())
            }
            Err(error) if self.options.mode == Mode::AtLeastOnce && membership_lost(&error) => {
                // The results are out, the offsets are not: whoever owns
                // the partitions next (maybe this instance, after it
                // rejoins) re-reads from the last commit and emits them
                // again. At-least-once repeats; it does not lose.
                tracing::warn!("offsets not committed ({error}); re-reading from the last commit");
                state.partitions.clear();
                state.at_end.clear();
                rewind(consumer)?;
                state.totals.aborts += 1;
                Ok(())
            }
            Err(error) => Err(error).context("the transform cannot go on"),
        }
    }

    /// 四.4's commit: flush, offsets into the transaction, commit.
    fn commit_transaction(
        &self,
        consumer: &BaseConsumer<Transform>,
        offsets: &TopicPartitionList,
        on_stage: &mut dyn FnMut(Stage),
    ) -> KafkaResult<()> {
        self.producer.flush(CALL_TIMEOUT)?;
        on_stage(Stage::Produced);
        if offsets.count() > 0 {
            // Asked now: the member id and generation change with every rebalance.
            let group = consumer.group_metadata().ok_or(KafkaError::Subscription(
                "the consumer has no group.id".into(),
            ))?;
            // librdkafka may not bound this call when a broker dies (四.4's `or_exit`).
            retrying(|| {
                or_exit(CALL_TIMEOUT * 3, "send_offsets_to_transaction", || {
                    self.producer
                        .send_offsets_to_transaction(offsets, &group, CALL_TIMEOUT)
                })
            })?;
        }
        on_stage(Stage::OffsetsSent);
        retrying(|| self.producer.commit_transaction(CALL_TIMEOUT))
    }
    // ANCHOR_END: end_batch
}

/// At-least-once has no transaction to abort: a flush that timed out (a
/// broker gone) leaves the results queued, so flush again — librdkafka
/// keeps retrying them until `message.timeout.ms`.
fn flush_patiently(producer: &BaseProducer<Observed>) -> KafkaResult<()> {
    let mut attempt = 1;
    loop {
        match producer.flush(CALL_TIMEOUT) {
            Err(KafkaError::Flush(_)) if attempt < 6 => {
                tracing::warn!("flush timed out ({attempt}/6); flushing again");
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

/// The group moved on without this member (its session expired — a broker
/// was down longer than `session.timeout.ms` — or a rebalance began): its
/// commit is refused, and librdkafka rejoins by itself.
fn membership_lost(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::UnknownMemberId
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::RebalanceInProgress
        )
    )
}

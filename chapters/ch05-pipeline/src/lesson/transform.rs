//! Stage 2, transform: per-user and per-page counts over tumbling
//! event-time windows, written with 四.4's read-process-write loop — the
//! window results, the dead-lettered records (四.3) and the input offsets
//! (with each partition's [`Checkpoint`]) commit in one Kafka transaction.
//!
//! Like 四.4's loop it is synchronous (a `BaseConsumer` polled with a
//! timeout, blocking transactional calls) and runs on a thread of its own.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ch04_transactions::lesson::batching::Stage;
use ch04_transactions::lesson::producer::CALL_TIMEOUT;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::BaseProducer;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientConfig, ClientContext, TopicPartitionList};

mod commit;
mod output;

use super::events;
use super::ingest::now_ms;
use super::observe::{Observed, StatsContext};
use super::windows::{Added, Checkpoint, PartitionWindows, Windowing};

// ANCHOR: consumer_config
/// 四.4's input consumer (no auto-commit, `read_committed`, 6 s sessions),
/// made a *static* member (三.3): a transform restarted under the same
/// `group.instance.id` takes its partitions back at once, without waiting
/// for the dead instance's session to expire. `enable.partition.eof`: the
/// loop is told when it has read a partition to its end, which is when an
/// idle partition may close its windows by the clock (see [`run`]).
pub fn consumer_config(bootstrap: &str, group: &str, instance: &str) -> ClientConfig {
    let mut config = ch04_transactions::lesson::exactly_once::consumer_config(bootstrap, group);
    config
        .set("group.instance.id", instance)
        .set("enable.partition.eof", "true");
    config
}
// ANCHOR_END: consumer_config

/// Exactly-once (a transaction per batch) or at-least-once (flush, then
/// commit the offsets — for contrast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ExactlyOnce,
    AtLeastOnce,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub input: String,
    pub output: String,
    pub dlq: String,
    pub windowing: Windowing,
    /// End the transaction at least this often.
    pub commit_every: Duration,
    /// A partition without input for this long closes windows by the wall clock.
    pub idle_close: Duration,
}

/// What the loop did (since it started).
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub events: u64,
    pub late: u64,
    pub skipped: u64,
    pub dead_lettered: u64,
    pub results: u64,
    pub transactions: u64,
    pub aborts: u64,
    /// Time spent ending batches (flush + commit): where the latency goes.
    pub commit_time: Duration,
}

#[derive(Default)]
struct State {
    /// Each partition's windows, and when it last had input.
    partitions: HashMap<i32, (PartitionWindows, Instant)>,
    /// Partitions read to their end (librdkafka's partition EOF, cleared
    /// by the next record): nothing more to wait for before the clock.
    at_end: HashSet<i32>,
    /// Something was produced since the last commit (a transaction is open).
    open: Option<Instant>,
    totals: Totals,
}

// ANCHOR: context
/// Like 四.4's `Pipeline`: the consumer's context owns the producer and the
/// state, so the rebalance callback can commit before partitions move.
pub struct Transform {
    pub producer: BaseProducer<Observed>,
    pub options: Options,
    stats: StatsContext,
    state: Mutex<State>,
}

impl ClientContext for Transform {
    fn stats(&self, statistics: Statistics) {
        self.stats.stats(statistics);
    }

    /// rust-rdkafka hands every error event to this callback *and* to
    /// `poll` (`client.rs`, `poll_event`); a partition's end is no error
    /// here — [`run`] uses it — so it is not logged as one.
    fn error(&self, error: KafkaError, reason: &str) {
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::PartitionEOF) {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for Transform {
    /// Before partitions are taken away: commit what was produced with the
    /// checkpoints, then forget the revoked partitions' windows — their next
    /// owner rebuilds them from the committed offset.
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(revoked) = rebalance else {
            return;
        };
        let mut state = self.lock();
        if state.open.is_some()
            && let Err(error) = self.end_batch(consumer, &mut state, &mut |_| {})
        {
            tracing::error!("on revoke: {error:#}");
        }
        for partition in revoked.elements() {
            state.partitions.remove(&partition.partition());
            state.at_end.remove(&partition.partition());
        }
    }
}
// ANCHOR_END: context

impl Transform {
    pub fn new(producer: BaseProducer<Observed>, options: Options, stats: StatsContext) -> Self {
        Transform {
            producer,
            options,
            stats,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn totals(&self) -> Totals {
        self.lock().totals
    }

    /// The totals, unless the loop holds the state right now (it does for
    /// the whole of a commit): for progress lines, which must never wait.
    pub fn try_totals(&self) -> Option<Totals> {
        match self.state.try_lock() {
            Ok(state) => Some(state.totals),
            Err(std::sync::TryLockError::Poisoned(state)) => Some(state.into_inner().totals),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

// ANCHOR: run
/// Reads, counts, emits closed windows inside the open transaction, and
/// commits every `commit_every`. Returns when `stop` is set (after
/// committing) or when the producer is unusable.
pub fn run(
    consumer: &BaseConsumer<Transform>,
    stop: &AtomicBool,
    mut on_stage: impl FnMut(Stage),
) -> Result<Totals> {
    let transform = consumer.context();
    let mut last_idle_check = Instant::now();
    loop {
        if let Some(message) = consumer.poll(Duration::from_millis(50)) {
            match message {
                Ok(message) => transform.handle(consumer, &message)?,
                Err(KafkaError::PartitionEOF(partition)) => {
                    transform.lock().at_end.insert(partition);
                }
                // E.g. fenced by a newer instance with the same
                // group.instance.id: this consumer cannot go on.
                Err(error @ KafkaError::MessageConsumptionFatal(_)) => {
                    return Err(error).context("the transform's consumer cannot go on");
                }
                Err(error) => tracing::warn!("consumer: {error}"),
            }
        }
        let mut state = transform.lock();
        if last_idle_check.elapsed() >= Duration::from_millis(100) {
            last_idle_check = Instant::now();
            let idle = transform.options.idle_close;
            let mut due = Vec::new();
            let State {
                partitions, at_end, ..
            } = &mut *state;
            for (partition, (windows, last_input)) in partitions.iter_mut() {
                // Idle means: nothing new for a while *and* read to the end
                // (the end a read_committed reader sees). A partition that
                // is merely waiting its turn behind a backlog is not idle:
                // closing its windows by the clock would make the rest of
                // its records late.
                let idle = last_input.elapsed() >= idle
                    && at_end.contains(partition)
                    && windows.has_open();
                due.extend(windows.close_due(idle.then(now_ms)));
            }
            transform.emit(&mut state, &due)?;
        }
        let stopping = stop.load(Ordering::Relaxed);
        let commit_due = state
            .open
            .is_some_and(|since| since.elapsed() >= transform.options.commit_every);
        if commit_due || (stopping && state.open.is_some()) {
            transform.end_batch(consumer, &mut state, &mut on_stage)?;
        }
        if stopping {
            return Ok(state.totals);
        }
    }
}
// ANCHOR_END: run

impl Transform {
    // ANCHOR: handle
    /// One input record: counted in its partition's windows (built from the
    /// committed checkpoint the first time the partition is seen), or sent
    /// to the dead-letter topic if it is not an event.
    fn handle(
        &self,
        consumer: &BaseConsumer<Transform>,
        message: &BorrowedMessage<'_>,
    ) -> Result<()> {
        let partition = message.partition();
        let mut state = self.lock();
        state.at_end.remove(&partition);
        let (windows, last_input) = match state.partitions.entry(partition) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(new) => new.insert((self.restore(consumer, partition)?, Instant::now())),
        };
        *last_input = Instant::now();
        let due = match events::decode(message) {
            Ok(event) => {
                let added = windows.add(message.offset(), &event);
                let due = windows.close_due(None);
                let totals = &mut state.totals;
                match added {
                    Added::Open => totals.events += 1,
                    Added::Late => totals.late += 1,
                    Added::Skipped => totals.skipped += 1,
                }
                due
            }
            Err(bad) => {
                if !windows.handled_before(message.offset()) {
                    self.begin(&mut state)?;
                    self.dead_letter(message, &bad.to_string())?;
                    state.totals.dead_lettered += 1;
                }
                Vec::new()
            }
        };
        self.emit(&mut state, &due)
    }

    /// The committed offset of `partition` and its checkpoint.
    fn restore(
        &self,
        consumer: &BaseConsumer<Transform>,
        partition: i32,
    ) -> Result<PartitionWindows> {
        let mut wanted = TopicPartitionList::new();
        wanted.add_partition(&self.options.input, partition);
        let committed = consumer.committed_offsets(wanted, CALL_TIMEOUT)?;
        let element = committed.find_partition(&self.options.input, partition);
        let offset = element
            .as_ref()
            .and_then(|e| e.offset().to_raw())
            .filter(|o| *o >= 0);
        let checkpoint = element.and_then(|e| Checkpoint::from_metadata(e.metadata()));
        Ok(PartitionWindows::new(
            partition,
            self.options.windowing,
            offset,
            checkpoint,
        ))
    }
    // ANCHOR_END: handle
}

//! Chapter 三.2's lab: the lesson's three read loops run as a worker that
//! appends what it processes to a file, killed on purpose in the middle of
//! its work ([`drill`]), the file audited for lost and repeated records
//! ([`sink`]), and the cost of each pattern measured.

pub mod drill;
pub mod sink;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::lesson;
pub use drill::{Drill, Scenario, crash_drill};
pub use sink::{Audit, Sink, apply_deduplicated, audit};

/// Which of the lesson's three patterns a consumer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// librdkafka's defaults: the offset is stored when a record is handed
    /// out and committed every 5 s in the background (at-most-once on a crash).
    Auto,
    /// `enable.auto.offset.store=false`: store the offset after processing,
    /// let the background auto-commit send it (at-least-once, cheap).
    StoreAfter,
    /// `enable.auto.commit=false`: commit synchronously after each processed
    /// record (at-least-once, one round trip per record).
    SyncCommit,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Auto, Mode::StoreAfter, Mode::SyncCommit];

    pub fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::StoreAfter => "store-after",
            Mode::SyncCommit => "sync-commit",
        }
    }
}

/// The settings each mode is about, for `print_effective`.
pub const SETTINGS: &[&str] = &[
    "session.timeout.ms",
    "enable.auto.commit",
    "auto.commit.interval.ms",
    "enable.auto.offset.store",
    "auto.offset.reset",
];

/// The lesson's configuration for `mode`.
pub fn consumer_config(bootstrap: &str, group: &str, mode: Mode) -> ClientConfig {
    match mode {
        Mode::Auto => lesson::auto_commit_config(bootstrap, group),
        Mode::StoreAfter => lesson::store_after_config(bootstrap, group),
        Mode::SyncCommit => lesson::manual_commit_config(bootstrap, group),
    }
}

/// Counts commits as librdkafka reports them (background auto-commits and
/// our own) — the cost side of the comparison.
#[derive(Default)]
pub struct CommitCounter {
    pub commits: AtomicU64,
    pub failed_commits: AtomicU64,
}

impl ClientContext for CommitCounter {}

impl ConsumerContext for CommitCounter {
    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        match result {
            Ok(()) => self.commits.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.failed_commits.fetch_add(1, Ordering::Relaxed),
        };
    }
}

pub type Reader = StreamConsumer<CommitCounter>;

/// Subscribes a consumer in `mode`.
pub fn subscribe(bootstrap: &str, topic: &str, group: &str, mode: Mode) -> Result<Reader> {
    let consumer: Reader =
        consumer_config(bootstrap, group, mode).create_with_context(CommitCounter::default())?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

/// Where in the handling of one record the drill's worker stops and waits
/// to be killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CrashPoint {
    /// Handed out by `recv`, not processed yet.
    HandedOut,
    /// Processed (its line is in the sink), but the read loop has not stored
    /// or committed its offset yet.
    Processed,
}

impl CrashPoint {
    pub const ALL: [CrashPoint; 2] = [CrashPoint::HandedOut, CrashPoint::Processed];

    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::HandedOut => "handed-out",
            CrashPoint::Processed => "processed",
        }
    }

    /// Records the worker had processed when it was killed at `offset`.
    pub fn processed_before_kill(self, offset: i64) -> i64 {
        match self {
            CrashPoint::HandedOut => offset,
            CrashPoint::Processed => offset + 1,
        }
    }
}

/// When the worker stops.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// At the record with this offset, at this point of its handling: print
    /// a marker and hang — a crash is about to happen. At
    /// [`CrashPoint::Processed`] the record is processed first, then the
    /// worker hangs inside `process`, so the read loop never gets to store
    /// or commit its offset.
    StallAt(i64, CrashPoint),
    /// When every partition's position reached its high watermark at start.
    CaughtUp,
    /// Only when `stop` is cancelled (Ctrl-C, SIGTERM).
    Stopped,
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerReport {
    pub processed: u64,
    pub commits: u64,
    pub elapsed: Duration,
}

/// The lesson's read loop for `mode`, processing into `sink`, until `until`
/// or until `stop` is cancelled (SIGINT/SIGTERM) — then it commits what it
/// processed (auto, store-after) and leaves the group.
pub async fn run_worker(
    consumer: &Reader,
    sink: &mut Sink,
    mode: Mode,
    until: Until,
    stop: &CancellationToken,
) -> Result<WorkerReport> {
    let started = Instant::now();
    // Cancelled by the caller's `stop`, or by us once caught up.
    let done = stop.child_token();
    let target = match until {
        Until::CaughtUp => end_offsets(consumer)?,
        Until::StallAt(..) | Until::Stopped => BTreeMap::new(),
    };
    if matches!(until, Until::CaughtUp) && caught_up(&target, &BTreeMap::new()) {
        done.cancel();
    }
    let mut reached: BTreeMap<i32, i64> = BTreeMap::new();
    let process = async |message: &BorrowedMessage<'_>| -> Result<()> {
        if let Until::StallAt(offset, point) = until
            && message.offset() == offset
        {
            let state = match point {
                CrashPoint::HandedOut => "handed out, not processed",
                CrashPoint::Processed => {
                    sink.process(message)?;
                    "processed, offset not yet stored or committed"
                }
            };
            // The drill kills us here.
            println!("STALLED at offset {offset}: {state}");
            stop.cancelled().await;
            bail!("stopped while stalled at offset {offset} ({state})");
        }
        sink.process(message)?;
        reached.insert(message.partition(), message.offset() + 1);
        if matches!(until, Until::CaughtUp) && caught_up(&target, &reached) {
            done.cancel();
        }
        Ok(())
    };
    let processed = match mode {
        Mode::Auto => lesson::consume_auto_commit(consumer, &done, process).await?,
        Mode::StoreAfter => lesson::consume_and_store(consumer, &done, process).await?,
        Mode::SyncCommit => lesson::consume_and_commit(consumer, &done, process).await?,
    };
    // Synchronous commits: one per processed record; background ones are
    // counted by the commit callback.
    let synchronous = if mode == Mode::SyncCommit {
        processed
    } else {
        0
    };
    Ok(WorkerReport {
        processed,
        commits: synchronous.max(consumer.context().commits.load(Ordering::Relaxed)),
        elapsed: started.elapsed(),
    })
}

fn caught_up(target: &BTreeMap<i32, i64>, reached: &BTreeMap<i32, i64>) -> bool {
    target
        .iter()
        .all(|(p, end)| reached.get(p).copied().unwrap_or(0) >= *end)
}

/// High watermark of every partition of the subscribed topic.
fn end_offsets(consumer: &Reader) -> Result<BTreeMap<i32, i64>> {
    let subscription = consumer.subscription()?;
    let topic = subscription
        .elements()
        .first()
        .map(|e| e.topic().to_string())
        .context("not subscribed")?;
    let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
    let partitions = metadata
        .topics()
        .first()
        .with_context(|| format!("no metadata for {topic}"))?
        .partitions();
    let mut ends = BTreeMap::new();
    for partition in partitions {
        let (_, high) =
            consumer.fetch_watermarks(&topic, partition.id(), Duration::from_secs(10))?;
        ends.insert(partition.id(), high);
    }
    Ok(ends)
}

/// The group's committed offset for partition 0 of `topic`, asked from the
/// outside (OffsetFetch), without joining the group.
pub fn committed_offset(bootstrap: &str, topic: &str, group: &str) -> Result<Option<i64>> {
    let offsets = tutorial_lab::testing::committed_offsets(bootstrap, topic, group, [0])?;
    Ok(offsets.get(&0).copied())
}

/// Produces `count` records `event-0`, `event-1`, … and waits for all acks.
pub async fn produce(bootstrap: &str, topic: &str, count: i64) -> Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()?;
    let payloads: Vec<String> = (0..count).map(|i| format!("event-{i}")).collect();
    let sends = payloads.iter().map(|p| {
        producer.send(
            FutureRecord::<(), _>::to(topic).payload(p),
            Duration::from_secs(30),
        )
    });
    for result in futures::future::join_all(sends).await {
        result.map_err(|(e, _)| e)?;
    }
    Ok(())
}

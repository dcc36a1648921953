//! Chapter 三.2: offsets that mean "processed".
//!
//! A consumer group remembers, per partition, the offset of the next record
//! to read: the committed offset. Whether a crash loses records or repeats
//! them depends only on *when* that offset moves relative to processing.
//! This crate runs the same consumer three ways and crashes it on purpose.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

/// How the consumer makes its position durable.
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

// ANCHOR: consumer_config
/// The consumer for each mode. Only the two offset switches differ.
pub fn consumer_config(bootstrap: &str, group: &str, mode: Mode) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // A member that dies without leaving keeps its partitions until the
        // coordinator misses its heartbeats for session.timeout.ms (librdkafka
        // default 45 s). 6 s (the broker's minimum) makes the crash drills quick.
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "2000");
    match mode {
        // Defaults: enable.auto.commit=true, enable.auto.offset.store=true.
        Mode::Auto => {}
        // The offset store is filled by us, after processing; the
        // background auto-commit still sends whatever is stored.
        Mode::StoreAfter => {
            config.set("enable.auto.offset.store", "false");
        }
        // Nothing is committed unless we commit.
        Mode::SyncCommit => {
            config.set("enable.auto.commit", "false");
        }
    }
    config
}
// ANCHOR_END: consumer_config

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

/// The "processing" of this chapter: append `partition:offset:payload` to a
/// file. A line in the file is a record that was processed; a record that
/// appears twice was processed twice.
pub struct Sink {
    file: File,
}

impl Sink {
    pub fn open(path: &Path) -> Result<Sink> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Sink { file })
    }

    /// One `write` per record: once it returns, the line survives even a
    /// SIGKILL of this process (it is in the kernel, not in our buffers).
    pub fn process(&mut self, message: &BorrowedMessage<'_>) -> Result<()> {
        let payload = String::from_utf8_lossy(message.payload().unwrap_or_default());
        let line = format!("{}:{}:{payload}\n", message.partition(), message.offset());
        self.file.write_all(line.as_bytes())?;
        Ok(())
    }
}

// ANCHOR: after_processing
/// What each mode does once a record has been processed.
pub fn after_processing(
    consumer: &Reader,
    message: &BorrowedMessage<'_>,
    mode: Mode,
) -> Result<()> {
    match mode {
        // Nothing: the offset was stored when `recv` handed the record out.
        Mode::Auto => {}
        // Store offset+1 ("next to read"); the auto-commit picks it up.
        Mode::StoreAfter => consumer.store_offset_from_message(message)?,
        // Commit offset+1 now and wait for the broker to confirm it.
        Mode::SyncCommit => consumer.commit_message(message, CommitMode::Sync)?,
    }
    Ok(())
}
// ANCHOR_END: after_processing

// ANCHOR: on_shutdown
/// Leaving on purpose (Ctrl-C, SIGTERM, end of input): commit what was
/// processed before closing, so the next member starts exactly after it.
pub fn commit_on_shutdown(consumer: &Reader, mode: Mode) -> Result<()> {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => Ok(()),
        // Nothing stored since the last commit: nothing to do.
        Err(e) if e.to_string().contains("No offset stored") => Ok(()),
        Err(e) if mode == Mode::SyncCommit => {
            // Every processed record was committed already.
            tracing::debug!("final commit: {e}");
            Ok(())
        }
        Err(e) => Err(e).context("final commit"),
    }
}
// ANCHOR_END: on_shutdown

/// When the worker stops.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// At the record with this offset: hand it out, print a marker, and hang
    /// without processing it — a crash is about to happen.
    StallAt(i64),
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

// ANCHOR: read_loop
/// The read loop: receive, process, then make the offset durable per `mode`.
/// Stops at `until`, or when `stop` is cancelled (SIGINT/SIGTERM) — then it
/// commits what it processed and leaves the group.
pub async fn run_worker(
    consumer: &Reader,
    sink: &mut Sink,
    mode: Mode,
    until: Until,
    stop: &CancellationToken,
) -> Result<WorkerReport> {
    let started = Instant::now();
    let mut processed = 0;
    // Synchronous commits are counted here; background ones by the callback.
    let mut commits = 0;
    let target = match until {
        Until::CaughtUp => Some(end_offsets(consumer)?),
        Until::StallAt(_) | Until::Stopped => None,
    };
    let mut reached: BTreeMap<i32, i64> = BTreeMap::new();
    loop {
        if let Some(target) = &target
            && target
                .iter()
                .all(|(p, end)| reached.get(p).copied().unwrap_or(0) >= *end)
        {
            break;
        }
        let message = tokio::select! {
            message = consumer.recv() => message?,
            () = stop.cancelled() => break,
        };
        if let Until::StallAt(offset) = until
            && message.offset() == offset
        {
            // Handed out, not processed. The caller kills us here.
            println!("STALLED at offset {offset}: handed out, not processed");
            stop.cancelled().await;
            break;
        }
        sink.process(&message)?;
        after_processing(consumer, &message, mode)?;
        processed += 1;
        if mode == Mode::SyncCommit {
            commits += 1;
        }
        reached.insert(message.partition(), message.offset() + 1);
    }
    commit_on_shutdown(consumer, mode)?;
    consumer.unsubscribe();
    Ok(WorkerReport {
        processed,
        commits: commits.max(consumer.context().commits.load(Ordering::Relaxed)),
        elapsed: started.elapsed(),
    })
}
// ANCHOR_END: read_loop

/// Subscribes a consumer in `mode`.
pub fn subscribe(bootstrap: &str, topic: &str, group: &str, mode: Mode) -> Result<Reader> {
    let consumer: Reader =
        consumer_config(bootstrap, group, mode).create_with_context(CommitCounter::default())?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
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
    let mut ends = BTreeMap::new();
    for partition in metadata.topics()[0].partitions() {
        let (_, high) =
            consumer.fetch_watermarks(&topic, partition.id(), Duration::from_secs(10))?;
        ends.insert(partition.id(), high);
    }
    Ok(ends)
}

/// The group's committed offset for partition 0 of `topic`, asked from the
/// outside (OffsetFetch), without joining the group.
pub fn committed_offset(bootstrap: &str, topic: &str, group: &str) -> Result<Option<i64>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .create()?;
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(topic, 0);
    let committed = consumer.committed_offsets(partitions, Duration::from_secs(10))?;
    Ok(match committed.elements().first().map(|e| e.offset()) {
        Some(Offset::Offset(offset)) => Some(offset),
        _ => None,
    })
}

/// What the sink file says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Produced records never processed.
    pub lost: BTreeSet<i64>,
    /// Records processed more than once, and how many extra times in total.
    pub duplicated: BTreeSet<i64>,
    pub extra_deliveries: usize,
    pub processed_lines: usize,
}

// ANCHOR: audit
/// Compares the sink (partition 0) with the `produced` offsets 0..produced.
pub fn audit(sink: &Path, produced: i64) -> Result<Audit> {
    let mut seen: BTreeMap<i64, usize> = BTreeMap::new();
    let mut lines = 0;
    for line in BufReader::new(File::open(sink)?).lines() {
        let line = line?;
        let mut fields = line.splitn(3, ':');
        let (Some(_partition), Some(offset)) = (fields.next(), fields.next()) else {
            bail!("malformed sink line {line:?}");
        };
        *seen.entry(offset.parse()?).or_default() += 1;
        lines += 1;
    }
    Ok(Audit {
        lost: (0..produced).filter(|o| !seen.contains_key(o)).collect(),
        duplicated: seen
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(o, _)| *o)
            .collect(),
        extra_deliveries: seen.values().map(|n| n - 1).sum(),
        processed_lines: lines,
    })
}
// ANCHOR_END: audit

// ANCHOR: dedupe
/// At-least-once means a record may come twice, so processing must be
/// idempotent. The simplest form: remember the highest offset applied per
/// partition and skip anything at or below it. (Here the sink file itself
/// is that memory; a database would keep it in the same transaction as the
/// data it writes.)
pub fn apply_deduplicated(sink: &Path) -> Result<Vec<(i32, i64)>> {
    let mut applied_up_to: BTreeMap<i32, i64> = BTreeMap::new();
    let mut applied = Vec::new();
    for line in BufReader::new(File::open(sink)?).lines() {
        let line = line?;
        let mut fields = line.splitn(3, ':');
        let partition: i32 = fields.next().context("partition")?.parse()?;
        let offset: i64 = fields.next().context("offset")?.parse()?;
        let last = applied_up_to.entry(partition).or_insert(-1);
        if offset > *last {
            *last = offset;
            applied.push((partition, offset));
        }
    }
    Ok(applied)
}
// ANCHOR_END: dedupe

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

/// The outcome of one crash drill.
#[derive(Debug, Clone)]
pub struct Drill {
    pub mode: Mode,
    /// The group's committed offset right after the kill.
    pub committed_at_kill: i64,
    pub audit: Audit,
    /// Records applied once each after deduplication by offset.
    pub applied_after_dedupe: usize,
}

// ANCHOR: crash_drill
/// One crash drill: a worker process consumes `topic` (one partition,
/// `records` records) in `mode`; when offset `crash_at` has been handed to
/// it — but not processed — it is killed with SIGKILL (for the auto mode,
/// once the background auto-commit has moved past that offset). Then a fresh
/// consumer of the same group takes over from the committed offset and runs
/// to the end. The sink file tells what was lost and what was repeated.
pub async fn crash_drill(
    worker_exe: &Path,
    bootstrap: &str,
    topic: &str,
    mode: Mode,
    records: i64,
    crash_at: i64,
    sink: &Path,
) -> Result<Drill> {
    let group = tutorial_support::topics::unique_name(&format!("ch03-{}", mode.name()));
    let mut child = Command::new(worker_exe)
        .args([
            "worker",
            "--brokers",
            bootstrap,
            "--topic",
            topic,
            "--group",
            &group,
        ])
        .args(["--mode", mode.name(), "--stall-at", &crash_at.to_string()])
        .arg("--sink")
        .arg(sink)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the worker")?;
    let stalled = wait_for_stall(&mut child);
    if stalled.is_ok() && mode == Mode::Auto {
        // The offset was stored when the record was handed out; the next
        // background auto-commit sends it although nothing processed it.
        wait_until_committed_past(bootstrap, topic, &group, crash_at).await?;
    }
    child.kill()?;
    child.wait()?;
    stalled?;
    let committed_at_kill = committed_offset(bootstrap, topic, &group)?.unwrap_or(0);

    let consumer = subscribe(bootstrap, topic, &group, mode)?;
    let mut sink_file = Sink::open(sink)?;
    let never = CancellationToken::new();
    run_worker(&consumer, &mut sink_file, mode, Until::CaughtUp, &never).await?;
    drop(consumer);

    Ok(Drill {
        mode,
        committed_at_kill,
        audit: audit(sink, records)?,
        applied_after_dedupe: apply_deduplicated(sink)?.len(),
    })
}
// ANCHOR_END: crash_drill

fn wait_for_stall(child: &mut Child) -> Result<()> {
    let stdout = child.stdout.take().context("worker stdout")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("STALLED") {
                let _ = sender.send(());
            }
        }
    });
    receiver
        .recv_timeout(Duration::from_secs(60))
        .context("the worker did not reach the crash point within 60 s")
}

async fn wait_until_committed_past(
    bootstrap: &str,
    topic: &str,
    group: &str,
    offset: i64,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if committed_offset(bootstrap, topic, group)?.is_some_and(|c| c > offset) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("no auto-commit past offset {offset} within 20 s")
}

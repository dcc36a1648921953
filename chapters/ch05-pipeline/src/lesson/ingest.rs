//! Stage 1, ingest: click events keyed by user, through an idempotent
//! producer (二.5), at a target rate or flat out, with event ids that are
//! never reused — not even after a crash.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::statistics::Statistics;

use super::events::{self, Event};
use super::observe::StatsContext;

/// Bound on the final flush.
pub const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

// ANCHOR: producer_config
/// 二.5's idempotent producer: a retried batch is written once, and the
/// records of one partition stay in the order they were sent — so the
/// event times of a partition only go forward, which the transform's
/// windows rely on.
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        // Small records (about 60 bytes): compress the batches.
        .set("compression.type", "lz4")
        // Every record settled (delivered or failed) within 30 s.
        .set("message.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: ids
/// Event ids handed out in blocks: the end of the block is written to a
/// small state file (and synced) *before* any id of the block is used. A
/// rerun — after a clean stop or a SIGKILL — starts after the last reserved
/// block, so no id is ever used twice. A crash leaves gaps instead: the
/// rest of its block, and the events still queued in the killed producer
/// (never acknowledged, never in the topic). (Reading the last id back from the topic would need the
/// killed producer's last requests to be settled first; the file does not.)
pub struct IdBlocks {
    path: PathBuf,
    next: u64,
    reserved: u64,
    block: u64,
}

impl IdBlocks {
    pub fn open(path: &Path, block: u64) -> Result<IdBlocks> {
        let reserved = match fs::read_to_string(path) {
            Ok(text) => text
                .trim()
                .parse()
                .with_context(|| format!("{} does not hold a number: {text:?}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        Ok(IdBlocks {
            path: path.to_path_buf(),
            next: reserved,
            reserved,
            block: block.max(1),
        })
    }

    /// The first id this run hands out.
    pub fn first(&self) -> u64 {
        self.reserved
    }

    pub fn next_id(&mut self) -> Result<u64> {
        if self.next == self.reserved {
            self.reserved = self.next + self.block;
            let tmp = self.path.with_extension("tmp");
            let mut file =
                fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
            writeln!(file, "{}", self.reserved)?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)
                .with_context(|| format!("replacing {}", self.path.display()))?;
        }
        self.next += 1;
        Ok(self.next - 1)
    }
}
// ANCHOR_END: ids

/// Counts delivery reports, and hands statistics to 四.5's metrics.
pub struct IngestContext {
    pub stats: StatsContext,
    pub acked: AtomicU64,
    pub failed: AtomicU64,
    pub first_error: Mutex<Option<String>>,
}

impl ClientContext for IngestContext {
    fn stats(&self, statistics: Statistics) {
        self.stats.stats(statistics);
    }
}

impl ProducerContext for IngestContext {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
            Err((error, _)) => {
                let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert_with(|| error.to_string());
                self.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    pub topic: String,
    /// Events per second; 0 = flat out.
    pub rate: u64,
    /// Stop before this id (`None`: run until stopped).
    pub until_id: Option<u64>,
    pub users: u64,
    /// Every `bad_every`-th event is a record that does not decode (0: none).
    pub bad_every: u64,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// ANCHOR: run
/// Sends events until `plan.until_id` or `stop`, paced to `plan.rate`,
/// then flushes: every record is acknowledged or reported failed before
/// this returns. Returns how many were sent.
pub fn run(
    producer: &ThreadedProducer<IngestContext>,
    ids: &mut IdBlocks,
    plan: &Plan,
    stop: &AtomicBool,
    sent: &AtomicU64,
) -> Result<u64> {
    let started = Instant::now();
    let mut count = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if plan.rate > 0 {
            // Pacing: never ahead of rate × elapsed.
            let due = (started.elapsed().as_secs_f64() * plan.rate as f64) as u64;
            if count >= due {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
        }
        if plan.until_id.is_some_and(|end| ids.next >= end) {
            break;
        }
        let id = ids.next_id()?;
        let event: Event = events::generate(id, plan.users, now_ms());
        let (value, headers) = if plan.bad_every > 0 && id % plan.bad_every == plan.bad_every - 1 {
            events::poison()
        } else {
            events::encode(&event)
        };
        let mut record = BaseRecord::to(&plan.topic)
            .key(&event.user)
            .payload(&value)
            .headers(headers);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                // The local queue is full: the polling thread frees room as
                // delivery reports come back.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                    record = unsent;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((error, _)) => return Err(error).context("sending an event"),
            }
        }
        count += 1;
        sent.store(count, Ordering::Relaxed);
    }
    producer
        .flush(FLUSH_TIMEOUT)
        .context("flushing the last events")?;
    let context = producer.context();
    let failed = context.failed.load(Ordering::Relaxed);
    if failed > 0 {
        let first = context
            .first_error
            .lock()
            .map(|e| e.clone())
            .unwrap_or(None);
        bail!(
            "{failed} of {count} events were not delivered (first error: {})",
            first.unwrap_or_default()
        );
    }
    Ok(count)
}
// ANCHOR_END: run

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_continue_after_the_reserved_block() {
        let dir = std::env::temp_dir().join(tutorial_support::topics::unique_name("ids"));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ingest.state");
        let mut ids = IdBlocks::open(&path, 100).unwrap();
        assert_eq!((ids.next_id().unwrap(), ids.next_id().unwrap()), (0, 1));
        // "Crash" here: the rerun starts after the reserved block.
        let mut again = IdBlocks::open(&path, 100).unwrap();
        assert_eq!(again.next_id().unwrap(), 100);
        fs::remove_dir_all(dir).unwrap();
    }
}

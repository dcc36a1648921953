//! Stage 3, sink: window results into SQLite, and the offsets they came
//! from into the *same* database transaction. The database is then the one
//! place that says how far the sink got: a crash rolls back rows and
//! offsets together, and a restart seeks to the stored offsets — exactly
//! once without Kafka transactions on this side.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ch04_transactions::lesson::batching::Stage;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use rusqlite::{Connection, params};

mod error;
mod options;

pub use error::SinkError;
use error::classify;
pub use options::{Options, Totals};

use super::ingest::now_ms;
use super::observe::Observed;
use super::results::{self, Kind, WindowResult};

// ANCHOR: schema
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS user_counts (
    window_start INTEGER NOT NULL, user_id TEXT NOT NULL, events INTEGER NOT NULL,
    PRIMARY KEY (window_start, user_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS page_counts (
    window_start INTEGER NOT NULL, page TEXT NOT NULL, events INTEGER NOT NULL,
    PRIMARY KEY (window_start, page)) WITHOUT ROWID;
-- Where the sink got to: the next offset to read, per partition.
CREATE TABLE IF NOT EXISTS kafka_offsets (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)) WITHOUT ROWID;
-- The audit's ledger (optional): one row per event id counted.
CREATE TABLE IF NOT EXISTS counted_events (event_id INTEGER NOT NULL, window_start INTEGER NOT NULL);
-- When each window (per input partition) reached the database.
CREATE TABLE IF NOT EXISTS window_latency (
    window_end INTEGER NOT NULL, source_partition INTEGER NOT NULL, latency_ms INTEGER NOT NULL,
    PRIMARY KEY (window_end, source_partition)) WITHOUT ROWID;
";
// ANCHOR_END: schema

// ANCHOR: open
/// Opens (or creates) the database. WAL lets readers (the runner, the
/// audit, an `sqlite3` shell) look while the sink writes; with
/// `synchronous=NORMAL` a power cut may lose the last transactions — rows
/// and offsets together, so the sink re-reads them: still exactly once.
pub fn open(path: &Path, busy: Duration) -> Result<Connection, SinkError> {
    let fail = |e| classify(path, busy, e);
    let db = Connection::open(path).map_err(fail)?;
    db.busy_timeout(busy).map_err(fail)?;
    db.pragma_update(None, "journal_mode", "WAL")
        .map_err(fail)?;
    db.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail)?;
    db.execute_batch(SCHEMA).map_err(fail)?;
    Ok(db)
}

/// The next offset to read of each partition the database has seen.
pub fn stored_offsets(db: &Connection, topic: &str) -> rusqlite::Result<BTreeMap<i32, i64>> {
    let mut query =
        db.prepare("SELECT partition, next_offset FROM kafka_offsets WHERE topic = ?1")?;
    let rows = query.query_map([topic], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}
// ANCHOR_END: open

// ANCHOR: consumer
/// No group membership: the sink assigns itself every partition (SQLite
/// has one writer, so there is one sink) and starts where the database
/// says. librdkafka's `assign` still wants a `group.id`, though nothing is
/// ever committed to it. `read_committed`: only committed transactions.
pub fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        // Told when a partition is read to its end: the sink knows when it
        // has caught up (the drill waits for that).
        .set("enable.partition.eof", "true");
    config
}

/// assign + the stored offsets (the beginning for a partition never seen).
pub fn assign_from_database(
    consumer: &BaseConsumer<Observed>,
    db: &Connection,
    topic: &str,
    partitions: i32,
) -> Result<()> {
    let stored = stored_offsets(db, topic)?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        let offset = stored
            .get(&partition)
            .map_or(Offset::Beginning, |next| Offset::Offset(*next));
        assignment.add_partition_offset(topic, partition, offset)?;
    }
    consumer.assign(&assignment)?;
    Ok(())
}
// ANCHOR_END: consumer

/// One result record as read.
pub struct Row {
    pub partition: i32,
    pub offset: i64,
    pub result: WindowResult,
}

// ANCHOR: write
/// Adds a batch of results to the counts and, when `offsets_in_db`,
/// stores the next offset of every partition it came from — all in one
/// SQLite transaction: committed together or not at all.
pub fn write_batch(
    db: &mut Connection,
    path: &Path,
    topic: &str,
    batch: &[Row],
    ledger: bool,
    offsets_in_db: bool,
    busy: Duration,
) -> Result<(), SinkError> {
    let fail = |e| classify(path, busy, e);
    let tx = db.transaction().map_err(fail)?;
    {
        let mut user = tx.prepare_cached(
            "INSERT INTO user_counts VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET events = events + excluded.events",
        ).map_err(fail)?;
        let mut page = tx.prepare_cached(
            "INSERT INTO page_counts VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET events = events + excluded.events",
        ).map_err(fail)?;
        let mut counted = tx
            .prepare_cached("INSERT INTO counted_events VALUES (?1, ?2)")
            .map_err(fail)?;
        let mut windows = BTreeSet::new();
        for Row { result: r, .. } in batch {
            let events = r.events as i64;
            if r.kind == Kind::User as i32 {
                user.execute(params![r.window_start_ms, r.key, events])
                    .map_err(fail)?;
                for id in r.event_ids.iter().filter(|_| ledger) {
                    counted
                        .execute(params![*id as i64, r.window_start_ms])
                        .map_err(fail)?;
                }
            } else {
                page.execute(params![r.window_start_ms, r.key, events])
                    .map_err(fail)?;
                if !r.late {
                    windows.insert((r.window_end_ms, r.source_partition));
                }
            }
        }
        if offsets_in_db {
            let mut next = BTreeMap::new();
            for row in batch {
                let entry = next.entry(row.partition).or_insert(row.offset + 1);
                *entry = (*entry).max(row.offset + 1);
            }
            let mut offsets = tx.prepare_cached(
                "INSERT INTO kafka_offsets VALUES (?1, ?2, ?3) ON CONFLICT DO UPDATE SET next_offset = excluded.next_offset",
            ).map_err(fail)?;
            for (partition, next) in next {
                offsets
                    .execute(params![topic, partition, next])
                    .map_err(fail)?;
            }
        }
        // Latency: from the window's end (event time) to this commit.
        let now = now_ms();
        let mut latency = tx
            .prepare_cached("INSERT OR IGNORE INTO window_latency VALUES (?1, ?2, ?3)")
            .map_err(fail)?;
        for (end, partition) in windows {
            latency
                .execute(params![end, partition, now - end])
                .map_err(fail)?;
        }
    }
    tx.commit().map_err(fail)
}
// ANCHOR_END: write

// ANCHOR: run
/// Reads results, writes them in batches (`max_batch` records or
/// `batch_time`), and on `stop` writes what it holds and returns.
pub fn run(
    consumer: &BaseConsumer<Observed>,
    db: &mut Connection,
    options: &Options,
    stop: &AtomicBool,
    mut on_stage: impl FnMut(Stage),
) -> Result<Totals> {
    let mut totals = Totals::default();
    let mut batch: Vec<Row> = Vec::new();
    let mut started = Instant::now();
    let mut at_end = BTreeSet::new();
    let assigned = consumer.assignment()?.count();
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let polled = if stopping {
            None
        } else {
            consumer.poll(Duration::from_millis(50))
        };
        match &polled {
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(*partition);
            }
            // librdkafka reports what it is recovering from (a broker
            // gone, a leader moved) and goes on fetching.
            Some(Err(error)) => tracing::warn!("sink consumer: {error}"),
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
            }
            None => {}
        }
        if let Some(Ok(message)) = polled {
            let result =
                results::decode(message.payload().unwrap_or_default()).with_context(|| {
                    format!(
                        "result at partition {} offset {} does not decode",
                        message.partition(),
                        message.offset()
                    )
                })?;
            if batch.is_empty() {
                started = Instant::now();
            }
            batch.push(Row {
                partition: message.partition(),
                offset: message.offset(),
                result,
            });
        }
        let due = batch.len() >= options.max_batch || started.elapsed() >= options.batch_time;
        if !batch.is_empty() && (due || stopping) {
            let path = &options.path;
            let began = Instant::now();
            write_batch(
                db,
                path,
                &options.topic,
                &batch,
                options.ledger,
                options.offsets_in_db,
                options.busy,
            )?;
            on_stage(Stage::Produced);
            if !options.offsets_in_db {
                // At-least-once: the group's offsets move only after the
                // rows are in — a crash in between repeats the batch.
                let mut next = BTreeMap::new();
                for row in &batch {
                    next.insert(row.partition, row.offset + 1);
                }
                let mut offsets = TopicPartitionList::new();
                for (partition, next) in next {
                    offsets.add_partition_offset(
                        &options.topic,
                        partition,
                        Offset::Offset(next),
                    )?;
                }
                consumer.commit(&offsets, CommitMode::Sync)?;
            }
            on_stage(Stage::Committed);
            totals.results += batch.len() as u64;
            totals.batches += 1;
            totals.commit_time += began.elapsed();
            batch.clear();
        }
        let caught_up = batch.is_empty() && at_end.len() >= assigned;
        options.caught_up.store(caught_up, Ordering::Relaxed);
        if stopping {
            return Ok(totals);
        }
    }
}
// ANCHOR_END: run

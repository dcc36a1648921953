//! The independent audit: everything the pipeline was given (the input
//! topic, read from the beginning) against everything it delivered (the
//! database, and the dead-letter topic), event id by event id.
//!
//! It shares only the decoder and the window arithmetic with the stages —
//! no offsets, no checkpoints, no state of theirs.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use ch04_error_handling::lesson::dead_letter::{dlq_headers, header};
use ch04_transactions::lab::audit::each_to_end;
use rdkafka::message::{BorrowedMessage, Message};
use rusqlite::{Connection, OpenFlags};

use crate::lesson::events;
use crate::lesson::windows::Windowing;

/// What the audit found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Records in the input topic, and the ones that are events.
    pub input_records: u64,
    pub input_events: u64,
    /// Event ids that appear more than once in the input (must be 0).
    pub input_duplicate_ids: u64,
    /// Input records that do not decode, and how often the DLQ holds them.
    pub bad_records: u64,
    pub dead_lettered: u64,
    pub bad_missing_from_dlq: u64,
    pub bad_doubled_in_dlq: u64,
    /// The ledger against the input: ids counted once, never, more than once.
    pub counted_once: u64,
    pub lost: u64,
    pub double_counted: u64,
    /// Extra counts of the double-counted ids (sum of count − 1).
    pub extra_counts: u64,
    /// Ids in the ledger that are not in the input.
    pub unknown: u64,
    /// Window cells (user or page) whose count differs from a recount of the input.
    pub user_cells: u64,
    pub user_cells_wrong: u64,
    pub page_cells: u64,
    pub page_cells_wrong: u64,
    /// Sum of the page counts in the database.
    pub counted_events: u64,
}

impl Audit {
    /// Exactly once: every event counted once, every bad record in the
    /// DLQ once, every aggregate equal to the recount.
    pub fn exactly_once(&self) -> bool {
        self.input_duplicate_ids == 0
            && self.lost == 0
            && self.double_counted == 0
            && self.unknown == 0
            && self.counted_once == self.input_events
            && self.bad_missing_from_dlq == 0
            && self.bad_doubled_in_dlq == 0
            && self.user_cells_wrong == 0
            && self.page_cells_wrong == 0
            && self.counted_events == self.input_events
    }

    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("input_records", self.input_records.to_string()),
            ("input_events", self.input_events.to_string()),
            ("input_duplicate_ids", self.input_duplicate_ids.to_string()),
            ("bad", self.bad_records.to_string()),
            ("dlq", self.dead_lettered.to_string()),
            (
                "bad_missing_from_dlq",
                self.bad_missing_from_dlq.to_string(),
            ),
            ("bad_doubled_in_dlq", self.bad_doubled_in_dlq.to_string()),
            ("counted_once", self.counted_once.to_string()),
            ("lost", self.lost.to_string()),
            ("double_counted", self.double_counted.to_string()),
            ("extra_counts", self.extra_counts.to_string()),
            ("unknown", self.unknown.to_string()),
            ("user_cells", self.user_cells.to_string()),
            ("user_cells_wrong", self.user_cells_wrong.to_string()),
            ("page_cells", self.page_cells.to_string()),
            ("page_cells_wrong", self.page_cells_wrong.to_string()),
            ("counted_events", self.counted_events.to_string()),
            ("exactly_once", self.exactly_once().to_string()),
        ]
    }
}

/// Reads `topic` from the beginning to the end a `read_committed` reader
/// sees, handing every record to `each`.
pub fn read_topic(
    bootstrap: &str,
    topic: &str,
    limit: Duration,
    each: impl FnMut(&BorrowedMessage<'_>),
) -> Result<()> {
    each_to_end(bootstrap, topic, "read_committed", limit, each)
}

/// Opens the database read-only (the sink may still be writing).
pub fn read_only(path: &Path) -> Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {} read-only", path.display()))
}

/// The audit of `events` + `dlq` (topics) against the database at `db`.
pub fn audit(
    bootstrap: &str,
    events_topic: &str,
    dlq_topic: &str,
    db: &Path,
    windowing: Windowing,
) -> Result<Audit> {
    let limit = Duration::from_secs(120);
    let mut a = Audit::default();
    let mut ids: HashMap<u64, u32> = HashMap::new();
    let mut users: HashMap<(i64, String), i64> = HashMap::new();
    let mut pages: HashMap<(i64, String), i64> = HashMap::new();
    let mut bad: BTreeMap<(i32, i64), u32> = BTreeMap::new();
    read_topic(bootstrap, events_topic, limit, |message| {
        a.input_records += 1;
        match events::decode(message) {
            Ok(event) => {
                a.input_events += 1;
                *ids.entry(event.id).or_default() += 1;
                let window = windowing.start_of(event.time_ms);
                *users.entry((window, event.user)).or_default() += 1;
                *pages.entry((window, event.page)).or_default() += 1;
            }
            Err(_) => {
                bad.insert((message.partition(), message.offset()), 0);
            }
        }
    })?;
    a.input_duplicate_ids = ids.values().filter(|n| **n > 1).count() as u64;
    a.bad_records = bad.len() as u64;
    read_topic(bootstrap, dlq_topic, limit, |message| {
        a.dead_lettered += 1;
        let from = header(message, dlq_headers::TOPIC);
        let partition = header(message, dlq_headers::PARTITION).and_then(|p| p.parse().ok());
        let offset = header(message, dlq_headers::OFFSET).and_then(|o| o.parse().ok());
        if let (Some(topic), Some(partition), Some(offset)) = (from, partition, offset)
            && topic == events_topic
            && let Some(n) = bad.get_mut(&(partition, offset))
        {
            *n += 1;
        }
    })?;
    a.bad_missing_from_dlq = bad.values().filter(|n| **n == 0).count() as u64;
    a.bad_doubled_in_dlq = bad.values().filter(|n| **n > 1).count() as u64;

    let db = read_only(db)?;
    let mut ledger: HashMap<u64, u64> = HashMap::new();
    let mut query =
        db.prepare("SELECT event_id, COUNT(*) FROM counted_events GROUP BY event_id")?;
    for row in query.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (id, n) = row?;
        ledger.insert(id as u64, n as u64);
    }
    for id in ids.keys() {
        match ledger.get(id).copied().unwrap_or(0) {
            0 => a.lost += 1,
            1 => a.counted_once += 1,
            n => {
                a.double_counted += 1;
                a.extra_counts += n - 1;
            }
        }
    }
    a.unknown = ledger.keys().filter(|id| !ids.contains_key(id)).count() as u64;
    let (cells, wrong) = compare(
        &db,
        "SELECT window_start, user_id, events FROM user_counts",
        &users,
    )?;
    (a.user_cells, a.user_cells_wrong) = (cells, wrong);
    let (cells, wrong) = compare(
        &db,
        "SELECT window_start, page, events FROM page_counts",
        &pages,
    )?;
    (a.page_cells, a.page_cells_wrong) = (cells, wrong);
    a.counted_events = db.query_row(
        "SELECT COALESCE(SUM(events), 0) FROM page_counts",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64;
    Ok(a)
}

/// Cells in the recount, and cells whose database count differs (or is
/// missing, or is in the database only).
fn compare(
    db: &Connection,
    sql: &str,
    expected: &HashMap<(i64, String), i64>,
) -> Result<(u64, u64)> {
    let mut stored: HashMap<(i64, String), i64> = HashMap::new();
    let mut query = db.prepare(sql)?;
    for row in query.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))? {
        let (cell, n) = row?;
        stored.insert(cell, n);
    }
    let mut wrong = expected
        .iter()
        .filter(|(cell, n)| stored.get(*cell) != Some(*n))
        .count() as u64;
    wrong += stored
        .keys()
        .filter(|cell| !expected.contains_key(*cell))
        .count() as u64;
    Ok((expected.len() as u64, wrong))
}

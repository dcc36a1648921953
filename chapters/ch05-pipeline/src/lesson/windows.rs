//! Tumbling event-time windows, one input partition at a time, and the
//! checkpoint that makes them exactly-once.
//!
//! Counting needs state (the open windows) and Kafka transactions only
//! commit *offsets*. So the committed offset of a partition is where its
//! open windows can be rebuilt from: the first offset of the oldest open
//! window. Two numbers travel with it in the offset's metadata string:
//! `closed` (every window ending at or before it was emitted) and `next`
//! (every record before it was handled). A new owner reads from the
//! committed offset again and skips the records before `next` whose window
//! ended at or before `closed`: they are in results already committed.

use std::collections::{BTreeMap, HashMap};

use super::events::Event;
use super::results::{Kind, WindowResult};

/// Window size and how long a window waits for stragglers.
#[derive(Debug, Clone, Copy)]
pub struct Windowing {
    pub size_ms: i64,
    pub grace_ms: i64,
}

impl Windowing {
    pub fn start_of(&self, time_ms: i64) -> i64 {
        time_ms.div_euclid(self.size_ms) * self.size_ms
    }
}

// ANCHOR: checkpoint
/// What a partition's committed offset carries in its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Windows ending at or before this were emitted.
    pub closed: i64,
    /// Records before this offset were handled.
    pub next: i64,
}

impl Checkpoint {
    pub fn to_metadata(self) -> String {
        format!("closed={};next={}", self.closed, self.next)
    }

    /// `None` for anything else (no commit yet, or another writer's text).
    pub fn from_metadata(text: &str) -> Option<Checkpoint> {
        let (closed, next) = text.split_once(';')?;
        Some(Checkpoint {
            closed: closed.strip_prefix("closed=")?.parse().ok()?,
            next: next.strip_prefix("next=")?.parse().ok()?,
        })
    }
}
// ANCHOR_END: checkpoint

/// One open window of one partition.
#[derive(Debug, Default)]
struct Window {
    first_offset: i64,
    users: HashMap<String, Vec<u64>>,
    pages: HashMap<String, u64>,
}

impl Window {
    fn add(&mut self, event: &Event) {
        self.users
            .entry(event.user.clone())
            .or_default()
            .push(event.id);
        *self.pages.entry(event.page.clone()).or_default() += 1;
    }

    fn results(self, start: i64, size: i64, partition: i32, late: bool) -> Vec<WindowResult> {
        let result = |kind: Kind, key: String, events: u64, event_ids: Vec<u64>| WindowResult {
            kind: kind as i32,
            key,
            window_start_ms: start,
            window_end_ms: start + size,
            events,
            event_ids,
            source_partition: partition,
            late,
        };
        let users = self
            .users
            .into_iter()
            .map(|(user, ids)| result(Kind::User, user, ids.len() as u64, ids));
        let pages = self
            .pages
            .into_iter()
            .map(|(page, n)| result(Kind::Page, page, n, Vec::new()));
        users.chain(pages).collect()
    }
}

/// What [`PartitionWindows::add`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Counted in an open window.
    Open,
    /// Its window had closed: counted as a late correction.
    Late,
    /// Already in committed results (a record re-read after a restart).
    Skipped,
}

// ANCHOR: partition
/// The open windows of one input partition.
#[derive(Debug)]
pub struct PartitionWindows {
    partition: i32,
    windowing: Windowing,
    /// Windows ending at or before this are closed.
    closed: i64,
    /// The last commit's checkpoint: what a re-read must skip.
    replay: Option<Checkpoint>,
    /// Highest event time seen: the partition's watermark.
    max_time: i64,
    next: i64,
    open: BTreeMap<i64, Window>,
    late: BTreeMap<i64, Window>,
}

impl PartitionWindows {
    /// State for `partition`, read from its committed offset `committed`
    /// and that commit's `checkpoint` (both `None` when nothing was committed).
    pub fn new(
        partition: i32,
        windowing: Windowing,
        committed: Option<i64>,
        checkpoint: Option<Checkpoint>,
    ) -> Self {
        PartitionWindows {
            partition,
            windowing,
            closed: checkpoint.map_or(i64::MIN, |c| c.closed),
            replay: checkpoint,
            max_time: i64::MIN,
            next: committed.unwrap_or(0),
            open: BTreeMap::new(),
            late: BTreeMap::new(),
        }
    }

    /// Counts the event at `offset` once.
    pub fn add(&mut self, offset: i64, event: &Event) -> Added {
        self.next = offset + 1;
        self.max_time = self.max_time.max(event.time_ms);
        let start = self.windowing.start_of(event.time_ms);
        let end = start + self.windowing.size_ms;
        if self
            .replay
            .is_some_and(|c| offset < c.next && end <= c.closed)
        {
            return Added::Skipped;
        }
        let (windows, added) = if end <= self.closed {
            (&mut self.late, Added::Late)
        } else {
            (&mut self.open, Added::Open)
        };
        windows
            .entry(start)
            .or_insert_with(|| Window {
                first_offset: offset,
                ..Window::default()
            })
            .add(event);
        added
    }

    /// Whether a window is open (waiting for its watermark).
    pub fn has_open(&self) -> bool {
        !self.open.is_empty()
    }

    /// The offset after the last record handled.
    pub fn next_offset(&self) -> i64 {
        self.next
    }

    /// A record at `offset` that is not an event (dead-lettered): skipped
    /// if it was handled before the last commit.
    pub fn handled_before(&mut self, offset: i64) -> bool {
        self.next = offset + 1;
        self.replay.is_some_and(|c| offset < c.next)
    }

    /// Closes the windows the watermark has passed (`idle_now`: the wall
    /// clock, when the partition has had no input for a while), and returns
    /// their results together with any late corrections.
    pub fn close_due(&mut self, idle_now: Option<i64>) -> Vec<WindowResult> {
        let watermark = idle_now.map_or(self.max_time, |now| now.max(self.max_time));
        let size = self.windowing.size_ms;
        let bound = self
            .windowing
            .start_of(watermark.saturating_sub(self.windowing.grace_ms));
        let mut results = Vec::new();
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() + size > bound {
                break;
            }
            let (start, window) = entry.remove_entry();
            results.extend(window.results(start, size, self.partition, false));
        }
        if watermark != i64::MIN {
            self.closed = self.closed.max(bound);
        }
        for (start, window) in std::mem::take(&mut self.late) {
            results.extend(window.results(start, size, self.partition, true));
        }
        results
    }

    /// The offset to commit and its checkpoint: open windows are rebuilt
    /// from their first record, so the offset cannot pass it.
    pub fn checkpoint(&self) -> (i64, Checkpoint) {
        let offset = self
            .open
            .values()
            .map(|w| w.first_offset)
            .min()
            .unwrap_or(self.next);
        let closed = self.closed.max(self.replay.map_or(i64::MIN, |c| c.closed));
        let next = self.next.max(self.replay.map_or(0, |c| c.next));
        (offset, Checkpoint { closed, next })
    }
}
// ANCHOR_END: partition

#[cfg(test)]
mod tests;

//! Where each stage is, read from outside: the topics' ends, the
//! transform group's committed offsets (with 四.5's lag monitor client), and the
//! database (the sink's stored offsets and counts).

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Result;
use ch04_observability::lesson::lag::lag_monitor;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::audit::read_only;
use super::stages::Topics;

/// One look at the pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Positions {
    /// Records in the input topic (sum of the high watermarks).
    pub input: i64,
    /// Input offsets the transform committed (sum).
    pub transformed: i64,
    /// End of the results topic (sum of the high watermarks; commit markers included).
    pub results: i64,
    /// Results offsets the sink stored in the database (sum).
    pub sunk: i64,
    /// Events counted in the database (sum of the page counts).
    pub counted: i64,
    /// Rows in the database (user and page windows).
    pub rows: i64,
}

/// How long one look at the cluster may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Monitor {
    /// Replaced after a failed read: a fresh client looks the group
    /// coordinator up again (an old one kept asking a killed broker's
    /// successor for tens of seconds in the drills).
    client: Mutex<BaseConsumer>,
    bootstrap: String,
    group: String,
    topics: Topics,
    partitions: Vec<i32>,
}

impl Monitor {
    pub fn new(bootstrap: &str, topics: &Topics, group: &str) -> Result<Monitor> {
        let client = lag_monitor(bootstrap, group)?;
        let partitions = (0..topics.partitions).collect();
        Ok(Monitor {
            client: Mutex::new(client),
            bootstrap: bootstrap.to_string(),
            group: group.to_string(),
            topics: topics.clone(),
            partitions,
        })
    }

    /// Two requests, each bounded by [`READ_TIMEOUT`]: the committed
    /// offsets (one OffsetFetch) and the ends of both topics (ListOffsets,
    /// sent to every partition leader at once). After a broker is killed a
    /// read fails fast instead of waiting out one timeout per partition;
    /// the caller asks again.
    pub fn read(&self, db: &Path) -> Result<Positions> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        let read = self.read_with(&client, db);
        if read.is_err() {
            *client = lag_monitor(&self.bootstrap, &self.group)?;
        }
        read
    }

    fn read_with(&self, client: &BaseConsumer, db: &Path) -> Result<Positions> {
        let (events, results) = (self.topics.events(), self.topics.results());
        let mut wanted = TopicPartitionList::new();
        for &partition in &self.partitions {
            wanted.add_partition(&events, partition);
        }
        let committed = client.committed_offsets(wanted, READ_TIMEOUT)?;
        let mut ends = TopicPartitionList::new();
        for &partition in &self.partitions {
            for topic in [&events, &results] {
                // Timestamp -1 (`Offset::End`): the latest offset.
                ends.add_partition_offset(topic, partition, Offset::End)?;
            }
        }
        let ends = client.offsets_for_times(ends, READ_TIMEOUT)?;
        let mut p = Positions::default();
        for element in ends.elements() {
            element.error()?;
            let Offset::Offset(end) = element.offset() else {
                anyhow::bail!(
                    "no end offset for {}/{}",
                    element.topic(),
                    element.partition()
                );
            };
            if element.topic() == events {
                p.input += end;
            } else {
                p.results += end;
            }
        }
        p.transformed = committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None, // nothing committed yet
            })
            .sum();
        if db.exists() {
            let db = read_only(db)?;
            let sum = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0));
            p.sunk = db.query_row(
                "SELECT COALESCE(SUM(next_offset), 0) FROM kafka_offsets WHERE topic = ?1",
                [self.topics.results()],
                |r| r.get::<_, i64>(0),
            )?;
            p.counted = sum("SELECT COALESCE(SUM(events), 0) FROM page_counts")?;
            p.rows = sum(
                "SELECT (SELECT COUNT(*) FROM user_counts) + (SELECT COUNT(*) FROM page_counts)",
            )?;
        }
        Ok(p)
    }
}

//! Where each stage is, read from outside: the topics' ends, the
//! transform group's committed offsets (四.5's lag monitor), and the
//! database (the sink's stored offsets and counts).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use ch04_observability::lesson::lag::{lag_monitor, lag_now};
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::audit::read_only;
use super::stages::Topics;

/// One look at the pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Positions {
    /// Records in the input topic (sum of the high watermarks).
    pub input: i64,
    /// Input offsets the transform committed (sum).
    pub transformed: i64,
    /// End of the results topic (sum of the last stable offsets).
    pub results: i64,
    /// Results offsets the sink stored in the database (sum).
    pub sunk: i64,
    /// Events counted in the database (sum of the page counts).
    pub counted: i64,
    /// Rows in the database (user and page windows).
    pub rows: i64,
}

pub struct Monitor {
    client: BaseConsumer,
    topics: Topics,
    partitions: Vec<i32>,
}

impl Monitor {
    pub fn new(bootstrap: &str, topics: &Topics, group: &str) -> Result<Monitor> {
        let client = lag_monitor(bootstrap, group)?;
        let partitions = (0..topics.partitions).collect();
        Ok(Monitor {
            client,
            topics: topics.clone(),
            partitions,
        })
    }

    pub fn read(&self, db: &Path) -> Result<Positions> {
        let timeout = Duration::from_secs(5);
        let lags = lag_now(
            &self.client,
            &self.topics.events(),
            &self.partitions,
            timeout,
        )?;
        let mut p = Positions {
            input: lags.iter().map(|l| l.high_watermark).sum(),
            transformed: lags.iter().filter_map(|l| l.committed).sum(),
            ..Positions::default()
        };
        for partition in &self.partitions {
            let (_, end) =
                self.client
                    .fetch_watermarks(&self.topics.results(), *partition, timeout)?;
            p.results += end;
        }
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

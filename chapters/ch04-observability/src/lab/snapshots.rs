//! Reading the statistics a test or the showcase needs: waiting for the
//! next snapshots, and the per-partition numbers of one topic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::Statistics;

use crate::lesson::stats::StatsContext;

/// Waits until the statistics callback has run `more` more times and
/// returns the latest snapshot; `None` after `limit`.
pub async fn next_snapshot(
    context: &StatsContext,
    more: u64,
    limit: Duration,
) -> Option<Statistics> {
    let target = context.callbacks() + more;
    let deadline = Instant::now() + limit;
    while context.callbacks() < target {
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    context.latest()
}

/// One partition's numbers from a consumer's statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionStats {
    pub consumer_lag: i64,
    pub consumer_lag_stored: i64,
    pub hi_offset: i64,
    /// The last stable offset: the end a read_committed consumer reads to.
    pub ls_offset: i64,
    pub committed_offset: i64,
    pub stored_offset: i64,
    pub fetchq_cnt: i64,
}

/// The partitions of `topic` in `statistics` (without librdkafka's `-1`).
pub fn partitions(statistics: &Statistics, topic: &str) -> BTreeMap<i32, PartitionStats> {
    statistics
        .topics
        .get(topic)
        .map(|t| {
            t.partitions
                .values()
                .filter(|p| p.partition >= 0)
                .map(|p| {
                    let stats = PartitionStats {
                        consumer_lag: p.consumer_lag,
                        consumer_lag_stored: p.consumer_lag_stored,
                        hi_offset: p.hi_offset,
                        ls_offset: p.ls_offset,
                        committed_offset: p.committed_offset,
                        stored_offset: p.stored_offset,
                        fetchq_cnt: p.fetchq_cnt,
                    };
                    (p.partition, stats)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `consumer_lag` per partition of `topic`.
pub fn consumer_lags(statistics: &Statistics, topic: &str) -> BTreeMap<i32, i64> {
    partitions(statistics, topic)
        .into_iter()
        .map(|(partition, p)| (partition, p.consumer_lag))
        .collect()
}

/// Waits for a snapshot in which partition `partition` of `topic`
/// satisfies `until`, and returns that partition's numbers; `None` after
/// `limit` (with the last numbers seen, to say what was there instead).
pub async fn partition_when(
    context: &StatsContext,
    topic: &str,
    partition: i32,
    limit: Duration,
    until: impl Fn(&PartitionStats) -> bool,
) -> Result<PartitionStats, Option<PartitionStats>> {
    let deadline = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(snapshot) = next_snapshot(context, 1, left).await else {
            break;
        };
        last = partitions(&snapshot, topic).get(&partition).copied();
        if let Some(p) = last.filter(|p| until(p)) {
            return Ok(p);
        }
    }
    Err(last)
}

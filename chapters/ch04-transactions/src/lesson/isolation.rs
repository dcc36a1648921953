//! What a reader sees of transactional records: `isolation.level`, the high
//! watermark, and the last stable offset (LSO).

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaResult;

/// Bound on each offset request.
pub const TIMEOUT: Duration = Duration::from_secs(10);

// ANCHOR: reader
/// A group-less reader with the given `isolation.level`:
///
/// - `read_committed` (librdkafka's default): records of open transactions
///   are held back, records of aborted transactions are dropped, and the
///   reader never reads past the LSO — the first offset of the oldest
///   transaction still open on the partition;
/// - `read_uncommitted`: every record up to the high watermark, whether its
///   transaction committed, aborted or is still open.
pub fn reader(bootstrap: &str, isolation_level: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ch04-transactions-reader")
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation_level);
    config
}
// ANCHOR_END: reader

/// A partition's end as each kind of reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ends {
    /// The high watermark: the offset after the last record written.
    pub high_watermark: i64,
    /// The last stable offset: where a `read_committed` reader stops.
    pub last_stable: i64,
}

// ANCHOR: ends
/// `fetch_watermarks` asks (ListOffsets) with the client's own isolation
/// level, so its "high" is the LSO for a `read_committed` client and the
/// high watermark only for a `read_uncommitted` one: ask both.
pub fn ends(bootstrap: &str, topic: &str, partition: i32) -> KafkaResult<Ends> {
    let uncommitted: BaseConsumer = reader(bootstrap, "read_uncommitted").create()?;
    let (_, high_watermark) = uncommitted.fetch_watermarks(topic, partition, TIMEOUT)?;
    let committed: BaseConsumer = reader(bootstrap, "read_committed").create()?;
    let (_, last_stable) = committed.fetch_watermarks(topic, partition, TIMEOUT)?;
    Ok(Ends {
        high_watermark,
        last_stable,
    })
}
// ANCHOR_END: ends

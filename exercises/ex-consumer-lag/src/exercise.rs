//! 四.5 exercise: consumer lag from outside the group.
//!
//! Lag is "records written that the group has not committed past": per
//! partition, the end of the log minus the group's committed offset. An
//! operator measures it from outside — without joining the group, which
//! would make it rebalance — the way `kafka-consumer-groups --describe`
//! does. Which "end of the log" you get depends on how you ask.

use std::collections::BTreeMap;
#[allow(unused_imports)] // for the TODO
use std::time::Duration;

use anyhow::Result;
use rdkafka::ClientConfig;
#[allow(unused_imports)] // for the TODO
use rdkafka::consumer::{BaseConsumer, Consumer};
#[allow(unused_imports)] // for the TODO
use rdkafka::{Offset, TopicPartitionList};

/// A client with the group's id that never subscribes (so the group never
/// rebalances because of it).
pub fn monitor_config(bootstrap: &str, group: &str) -> ClientConfig {
    #[allow(unused_mut)] // you may want to change it
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false");
    config
}

/// The lag of `group` on each of `partitions` of `topic`; `None` where the
/// group never committed. Blocking calls: run it off the async runtime.
pub fn lag(
    monitor: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
) -> Result<BTreeMap<i32, Option<i64>>> {
    // TODO: ask for the group's committed offsets of all `partitions` at
    // once (`committed_offsets` with a TopicPartitionList), then each
    // partition's end of log (`fetch_watermarks`); lag = end − committed,
    // `None` where nothing is committed. Bound each call (10 s).
    // Then run the check: if one partition's lag comes out too small, read
    // the hint — it is about *which* end of the log you were told.
    let _ = (monitor, topic, partitions);
    todo!("lag")
}

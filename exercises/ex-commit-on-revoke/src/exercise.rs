//! 三.3 exercise: hand partitions over without repeated work.
//!
//! This member processes a record, then stores its offset; with
//! `enable.auto.commit=false` nothing sends the stored offsets to the group
//! on its own. When a rebalance takes partitions away, their next owner
//! starts from the group's *committed* offsets — so whatever was processed
//! but not committed is processed a second time.
//!
//! The rebalance callback `pre_rebalance` runs before the partitions go:
//! the place to commit what was processed on them.

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
#[allow(unused_imports)] // for the TODO
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
#[allow(unused_imports)] // for the TODO
use rdkafka::error::RDKafkaErrorCode;

/// A member that stores offsets after processing and never auto-commits.
pub fn member_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("session.timeout.ms", "6000");
    config
}

/// The member's part of a rebalance.
pub struct CommitOnRevoke;

impl ClientContext for CommitOnRevoke {}

impl ConsumerContext for CommitOnRevoke {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_partitions) = rebalance {
            // TODO: commit what this member stored (processed) before the
            // partitions go — synchronously, so they do not move before the
            // commit is done. "Nothing stored since the last commit" (the
            // `NoOffset` error code) is not a failure.
            let _ = consumer;
        }
    }
}

//! Chapter 三.3's lesson: consumer groups in motion.
//!
//! Members join, leave and crash; each time the group rebalances. What a
//! rebalance costs — which partitions stop being consumed, and for how long
//! — depends on the protocol. librdkafka runs the protocol in the background;
//! the application still owns two things, both shown here: committing what it
//! processed before a partition is taken away, and forgetting the state of
//! partitions it no longer owns.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::BorrowedMessage;
use rdkafka::topic_partition_list::TopicPartitionList;
use tokio_util::sync::CancellationToken;

/// The group protocols compared in this chapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Classic protocol, `range` assignor: every rebalance revokes everything.
    Eager,
    /// Classic protocol, `cooperative-sticky`: only moved partitions are revoked.
    Cooperative,
    /// KIP-848 (`group.protocol=consumer`): the broker computes assignments
    /// and hands them out incrementally through heartbeats.
    Consumer,
}

// ANCHOR: member_config
/// One member's configuration under `protocol`.
pub fn member_config(
    bootstrap: &str,
    group: &str,
    protocol: Protocol,
    instance_id: Option<&str>,
) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // Offsets are stored after processing and committed on revoke.
        .set("enable.auto.offset.store", "false");
    match protocol {
        Protocol::Eager => {
            config.set("partition.assignment.strategy", "range");
        }
        Protocol::Cooperative => {
            config.set("partition.assignment.strategy", "cooperative-sticky");
        }
        // Assignment happens on the broker; session and heartbeat timing are
        // broker settings (group.consumer.*), not client ones, in this protocol.
        Protocol::Consumer => {
            config.set("group.protocol", "consumer");
        }
    }
    if protocol != Protocol::Consumer {
        // Detect a crashed member in 6 s instead of librdkafka's default 45 s.
        config
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "2000");
    }
    if let Some(id) = instance_id {
        // Static membership: the member keeps its identity across restarts.
        config.set("group.instance.id", id);
    }
    config
}
// ANCHOR_END: member_config

/// One rebalance callback as this member saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub at: Instant,
    /// `true` for partitions given, `false` for partitions taken away.
    pub assigned: bool,
    pub partitions: Vec<i32>,
}

// ANCHOR: member_context
/// The application's part of a rebalance. `pre_rebalance` runs before
/// partitions are taken away: commit what was processed on them, or the next
/// owner repeats it. `post_rebalance` runs after partitions were given. Both
/// run inside `recv`.
pub struct MemberContext {
    name: String,
    owned: Mutex<BTreeSet<i32>>,
    /// What the coordinator took and gave, and when (the showcase prints it).
    history: Mutex<Vec<Change>>,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            match consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => {}
                // Nothing processed since the last commit.
                Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset) => {}
                Err(e) => tracing::warn!("{}: commit on revoke failed: {e}", self.name),
            }
            let ids = partition_ids(partitions);
            let mut owned = lock(&self.owned);
            for id in &ids {
                // Here an application drops per-partition state (caches, buffers).
                owned.remove(id);
            }
            self.record(false, ids);
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            let ids = partition_ids(partitions);
            lock(&self.owned).extend(&ids);
            self.record(true, ids);
        }
    }
}
// ANCHOR_END: member_context

impl MemberContext {
    pub fn new(name: &str) -> MemberContext {
        MemberContext {
            name: name.to_string(),
            owned: Mutex::new(BTreeSet::new()),
            history: Mutex::new(Vec::new()),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The partitions this member owns now.
    pub fn owned(&self) -> BTreeSet<i32> {
        lock(&self.owned).clone()
    }

    /// Every rebalance callback so far, oldest first.
    pub fn history(&self) -> Vec<Change> {
        lock(&self.history).clone()
    }

    fn record(&self, assigned: bool, partitions: Vec<i32>) {
        let at = Instant::now();
        lock(&self.history).push(Change {
            at,
            assigned,
            partitions,
        });
    }
}

fn partition_ids(partitions: &TopicPartitionList) -> Vec<i32> {
    partitions
        .elements()
        .iter()
        .map(|e| e.partition())
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A group member whose context commits on revoke.
pub type Member = StreamConsumer<MemberContext>;

/// Creates a member named `name` from `config` and subscribes it to `topic`:
/// it joins the group, and the group rebalances.
pub fn join(config: &ClientConfig, name: &str, topic: &str) -> Result<Member> {
    let member: Member = config.create_with_context(MemberContext::new(name))?;
    member.subscribe(&[topic])?;
    Ok(member)
}

// ANCHOR: process
/// The read loop: process each record, then store its offset (committed
/// later: in the background, on revoke, or when leaving). Runs until `stop`
/// is cancelled; a member that stops calling `recv` for longer than
/// `max.poll.interval.ms` is taken for stuck and leaves the group.
pub async fn consume(
    member: &Member,
    stop: &CancellationToken,
    mut process: impl FnMut(&BorrowedMessage<'_>),
) -> Result<()> {
    loop {
        let message = tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(()),
            message = member.recv() => message?,
        };
        process(&message);
        if let Err(error) = member.store_offset_from_message(&message) {
            // The partition was revoked meanwhile; the new owner will
            // process this record again.
            tracing::debug!("{}: store after revoke: {error}", member.context().name());
        }
    }
}
// ANCHOR_END: process

// ANCHOR: leave
/// A member leaves cleanly: `unsubscribe`, then keep serving events until
/// the revoke callback has run (it commits). The group rebalances at once —
/// no session timeout to wait for. Records still arriving meanwhile are not
/// processed; their partitions' new owners read them.
pub async fn leave(member: &Member) {
    member.unsubscribe();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !member.context().owned().is_empty() && Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(50), member.recv()).await;
    }
}
// ANCHOR_END: leave

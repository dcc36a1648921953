//! Consumer groups: within a group each partition has one owner; every
//! group gets every record.

use std::sync::Mutex;

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::Message;
use tokio_util::sync::CancellationToken;

// ANCHOR: member_config
/// One member of a consumer group. The shared `group.id` is what makes
/// consumers one group: the group coordinator (a broker) divides the
/// subscribed topic's partitions among the members.
pub fn member_config(bootstrap: &str, group_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group_id)
        // A new group has no committed offsets; start at the beginning
        // instead of librdkafka's default, the end ("latest").
        .set("auto.offset.reset", "earliest")
        // Offsets are chapter 三's subject; here nothing is committed.
        .set("enable.auto.commit", "false");
    config
}
// ANCHOR_END: member_config

// ANCHOR: member_context
/// Remembers the partitions the group coordinator gave this member. librdkafka
/// calls `post_rebalance` from inside `recv` whenever the group's assignment
/// changes: first a revoke of everything (the classic, "eager" protocol),
/// then the new assignment — possibly an empty one.
#[derive(Default)]
pub struct MemberContext {
    assigned: Mutex<Option<Vec<i32>>>,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut assigned = self.assigned.lock().unwrap_or_else(|e| e.into_inner());
        match rebalance {
            Rebalance::Assign(partitions) => {
                let mut ids: Vec<i32> = partitions
                    .elements()
                    .iter()
                    .map(|e| e.partition())
                    .collect();
                ids.sort_unstable();
                *assigned = Some(ids);
            }
            Rebalance::Revoke(_) => *assigned = None,
            Rebalance::Error(error) => tracing::warn!("rebalance error: {error}"),
        }
    }
}
// ANCHOR_END: member_context

impl MemberContext {
    /// The partitions this member owns; `None` until the group has given it
    /// an assignment (or while a rebalance is under way).
    pub fn assigned(&self) -> Option<Vec<i32>> {
        self.assigned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A group member: a consumer that reports its assignment.
pub type Member = StreamConsumer<MemberContext>;

// ANCHOR: join_group
/// Starts one consumer of group `group_id`, subscribed to `topic`.
/// `subscribe` makes the member join the group, which triggers a rebalance;
/// the assignment arrives while the member is reading (`consume`).
pub fn join(bootstrap: &str, topic: &str, group_id: &str) -> Result<Member> {
    let member: Member =
        member_config(bootstrap, group_id).create_with_context(MemberContext::default())?;
    member.subscribe(&[topic])?;
    Ok(member)
}
// ANCHOR_END: join_group

// ANCHOR: consume_group
/// One member's read loop: every record the coordinator routes to this
/// member, until `stop` is cancelled. The rebalance callbacks run inside
/// `recv`, so a member that is not reading does not learn its assignment.
pub async fn consume(
    member: &Member,
    stop: &CancellationToken,
    mut on_record: impl FnMut(i32, i64),
) -> Result<()> {
    loop {
        let message = tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(()),
            message = member.recv() => message?,
        };
        on_record(message.partition(), message.offset());
    }
}
// ANCHOR_END: consume_group

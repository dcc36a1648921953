//! Chapter 三.3: consumer groups in motion.
//!
//! Members join, leave and crash; each time the group rebalances. What a
//! rebalance costs — which partitions stop being consumed, and for how long
//! — depends on the protocol. librdkafka runs the protocol in the background;
//! the application still owns two things, both shown here: committing what it
//! processed before a partition is taken away, and forgetting the state of
//! partitions it no longer owns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// The group protocols compared in this chapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Classic protocol, `range` assignor: every rebalance revokes everything.
    Eager,
    /// Classic protocol, `cooperative-sticky`: only moved partitions are revoked.
    Cooperative,
    /// KIP-848 (`group.protocol=consumer`): the broker computes assignments
    /// and hands them out incrementally through heartbeats.
    Consumer,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Eager, Protocol::Cooperative, Protocol::Consumer];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Eager => "eager (range)",
            Protocol::Cooperative => "cooperative-sticky",
            Protocol::Consumer => "consumer (KIP-848)",
        }
    }
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

/// What happened to a member's partitions, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub member: String,
    pub assigned: bool,
    pub partitions: Vec<i32>,
    pub at: Duration,
}

/// Shared, timestamped record of every member's rebalance callbacks.
#[derive(Clone)]
pub struct EventLog {
    started: Instant,
    events: Arc<Mutex<Vec<Event>>>,
}

impl EventLog {
    pub fn new() -> Self {
        EventLog {
            started: Instant::now(),
            events: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn push(&self, member: &str, assigned: bool, partitions: Vec<i32>) {
        let event = Event {
            member: member.to_string(),
            assigned,
            partitions,
            at: self.started.elapsed(),
        };
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }

    pub fn len(&self) -> usize {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn since(&self, index: usize) -> Vec<Event> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())[index..].to_vec()
    }
}

impl Default for EventLog {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: member_context
/// The application's part of a rebalance. `pre_rebalance` runs before
/// partitions are taken away: commit what was processed on them, or the next
/// owner repeats it. `post_rebalance` runs after partitions were given.
pub struct MemberContext {
    name: String,
    log: EventLog,
    owned: Mutex<BTreeSet<i32>>,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync)
                && !error.to_string().contains("No offset stored")
            {
                tracing::warn!("{}: commit on revoke failed: {error}", self.name);
            }
            let ids: Vec<i32> = partitions
                .elements()
                .iter()
                .map(|e| e.partition())
                .collect();
            let mut owned = self.owned.lock().unwrap_or_else(|e| e.into_inner());
            for id in &ids {
                // Here an application drops per-partition state (caches, buffers).
                owned.remove(id);
            }
            self.log.push(&self.name, false, ids);
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            let ids: Vec<i32> = partitions
                .elements()
                .iter()
                .map(|e| e.partition())
                .collect();
            self.owned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(&ids);
            self.log.push(&self.name, true, ids);
        }
    }
}
// ANCHOR_END: member_context

/// One member, polled by [`Group`].
pub struct Member {
    pub name: String,
    consumer: BaseConsumer<MemberContext>,
    /// (partition, offset) of every record this member processed.
    pub processed: Vec<(i32, i64)>,
    /// A stalled member is not polled: it stands for an application stuck
    /// in slow processing.
    pub stalled: bool,
}

impl Member {
    pub fn owned(&self) -> BTreeSet<i32> {
        self.consumer
            .context()
            .owned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Several members of one group in this process, polled in turn.
pub struct Group {
    pub bootstrap: String,
    pub topic: String,
    pub group: String,
    pub protocol: Protocol,
    pub log: EventLog,
    pub members: Vec<Member>,
    /// What members that left had processed.
    pub retired: Vec<(i32, i64)>,
}

impl Group {
    pub fn new(bootstrap: &str, topic: &str, group: &str, protocol: Protocol) -> Group {
        Group {
            bootstrap: bootstrap.into(),
            topic: topic.into(),
            group: group.into(),
            protocol,
            log: EventLog::new(),
            members: Vec::new(),
            retired: Vec::new(),
        }
    }

    /// A new member joins (subscribes).
    pub fn join(&mut self, name: &str, instance_id: Option<&str>) -> Result<()> {
        self.join_with(name, instance_id, &[])
    }

    /// A new member with extra settings joins.
    pub fn join_with(
        &mut self,
        name: &str,
        instance_id: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<()> {
        let context = MemberContext {
            name: name.into(),
            log: self.log.clone(),
            owned: Mutex::new(BTreeSet::new()),
        };
        let mut config = member_config(&self.bootstrap, &self.group, self.protocol, instance_id);
        for (key, value) in extra {
            config.set(*key, *value);
        }
        let consumer: BaseConsumer<MemberContext> = config.create_with_context(context)?;
        consumer.subscribe(&[&self.topic])?;
        self.members.push(Member {
            name: name.into(),
            consumer,
            processed: Vec::new(),
            stalled: false,
        });
        Ok(())
    }

    // ANCHOR: leave
    /// A member leaves cleanly: commit, unsubscribe (the revoke callback
    /// runs), and close. The group rebalances at once — no timeout to wait for.
    pub async fn leave(&mut self, name: &str) -> Result<()> {
        let Some(index) = self.members.iter().position(|m| m.name == name) else {
            bail!("no member {name}");
        };
        let member = self.members.remove(index);
        member.consumer.unsubscribe();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !member.owned().is_empty() && Instant::now() < deadline {
            let _ = member.consumer.poll(Duration::from_millis(50));
        }
        self.retired.extend(member.processed);
        Ok(())
    }
    // ANCHOR_END: leave

    /// Polls every member for `duration`, processing what arrives.
    pub async fn run_for(&mut self, duration: Duration) -> Result<()> {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            self.poll_once()?;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(())
    }

    // ANCHOR: process
    fn poll_once(&mut self) -> Result<()> {
        for member in self.members.iter_mut().filter(|m| !m.stalled) {
            while let Some(message) = member.consumer.poll(Duration::ZERO) {
                let message = message?;
                // Processing, then the offset is stored (committed later: in
                // the background, on revoke, or when leaving).
                member
                    .processed
                    .push((message.partition(), message.offset()));
                if let Err(error) = member.consumer.store_offset_from_message(&message) {
                    // The partition was revoked meanwhile; the new owner will
                    // process this record again.
                    tracing::debug!("{}: store after revoke: {error}", member.name);
                }
            }
        }
        Ok(())
    }
    // ANCHOR_END: process

    /// Polls until [`Group::is_complete`] holds and nothing changed for
    /// `quiet`; fails after `limit`. Returns how long it took.
    pub async fn settle(
        &mut self,
        partitions: i32,
        quiet: Duration,
        limit: Duration,
    ) -> Result<Duration> {
        let started = Instant::now();
        let mut last_change = (self.log.len(), Instant::now());
        loop {
            self.poll_once()?;
            if self.log.len() != last_change.0 {
                last_change = (self.log.len(), Instant::now());
            }
            if self.is_complete(partitions) && last_change.1.elapsed() >= quiet {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                bail!(
                    "group {} did not settle within {limit:?}: {:?}",
                    self.group,
                    self.members
                        .iter()
                        .map(|m| (&m.name, m.owned()))
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// True if the members own every partition exactly once and, when there
    /// are enough partitions to go round, every member owns at least one
    /// (a member that just joined may not have been given any yet).
    pub fn is_complete(&self, partitions: i32) -> bool {
        if self.members.len() <= partitions as usize
            && self.members.iter().any(|m| m.owned().is_empty())
        {
            return false;
        }
        let mut seen = BTreeSet::new();
        for member in &self.members {
            for p in member.owned() {
                if !seen.insert(p) {
                    return false;
                }
            }
        }
        seen.len() == partitions as usize
    }

    /// Current assignment, by member.
    pub fn assignment(&self) -> BTreeMap<String, BTreeSet<i32>> {
        self.members
            .iter()
            .map(|m| (m.name.clone(), m.owned()))
            .collect()
    }

    /// Every (partition, offset) processed by any member, past or present.
    pub fn all_processed(&self) -> Vec<(i32, i64)> {
        let mut all = self.retired.clone();
        for m in &self.members {
            all.extend(&m.processed);
        }
        all
    }
}

/// How a rebalance step treated the members that were there before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    /// Partitions revoked from a member and handed back to the same member.
    pub revoked_and_returned: usize,
    /// Partitions that actually changed owner.
    pub moved: usize,
    /// From the first revoke to the last assignment of the step.
    pub pause: Duration,
}

// ANCHOR: step_report
/// Compares the assignment before and after a step with the callbacks seen
/// during it: an eager protocol takes everything away and gives most of it
/// back; an incremental one only touches what moves.
pub fn step_report(
    before: &BTreeMap<String, BTreeSet<i32>>,
    after: &BTreeMap<String, BTreeSet<i32>>,
    events: &[Event],
) -> StepReport {
    let mut revoked_and_returned = 0;
    let mut moved = 0;
    for (member, had) in before {
        let has = after.get(member).cloned().unwrap_or_default();
        moved += had.difference(&has).count();
        let revoked: BTreeSet<i32> = events
            .iter()
            .filter(|e| &e.member == member && !e.assigned)
            .flat_map(|e| e.partitions.iter().copied())
            .collect();
        revoked_and_returned += revoked.intersection(&has).count();
    }
    let first_revoke = events.iter().filter(|e| !e.assigned).map(|e| e.at).min();
    let last_assign = events.iter().filter(|e| e.assigned).map(|e| e.at).max();
    let pause = match (first_revoke, last_assign) {
        (Some(r), Some(a)) if a > r => a - r,
        _ => Duration::ZERO,
    };
    StepReport {
        revoked_and_returned,
        moved,
        pause,
    }
}
// ANCHOR_END: step_report

/// Produces `count` records with distinct keys; returns when all are acknowledged.
pub async fn produce(bootstrap: &str, topic: &str, from: usize, count: usize) -> Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()?;
    let keys: Vec<String> = (from..from + count).map(|i| format!("k{i}")).collect();
    let sends = keys.iter().map(|k| {
        producer.send(
            FutureRecord::to(topic).key(k).payload(k),
            Duration::from_secs(30),
        )
    });
    for result in futures::future::join_all(sends).await {
        result.map_err(|(e, _)| e)?;
    }
    Ok(())
}

//! Chapter 三.3's lab: several members of one group in this process, each
//! running the lesson's read loop in its own task; a timeline of every
//! member's rebalance callbacks; what each step of a rebalance revoked and
//! moved.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::lesson::{self, Member, MemberContext, Protocol, member_config};

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

/// `eager`, `cooperative` or `consumer`, for the command line.
pub fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text {
        "eager" => Ok(Protocol::Eager),
        "cooperative" => Ok(Protocol::Cooperative),
        "consumer" => Ok(Protocol::Consumer),
        other => Err(format!(
            "unknown protocol {other:?}: eager, cooperative or consumer"
        )),
    }
}

/// What happened to a member's partitions, and when (since the group's start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub member: String,
    pub assigned: bool,
    pub partitions: Vec<i32>,
    pub at: Duration,
}

/// One member, reading in its own task.
pub struct GroupMember {
    pub name: String,
    consumer: Arc<Member>,
    processed: Arc<Mutex<Vec<(i32, i64)>>>,
    stop: CancellationToken,
    task: JoinHandle<Result<()>>,
}

impl GroupMember {
    /// The partitions this member owns now.
    pub fn owned(&self) -> BTreeSet<i32> {
        self.consumer.context().owned()
    }

    /// (partition, offset) of every record this member processed.
    pub fn processed(&self) -> Vec<(i32, i64)> {
        lock(&self.processed).clone()
    }

    /// Stops reading without leaving: the member stands for an application
    /// stuck in slow processing (its consumer stays open).
    pub fn stall(&self) {
        self.stop.cancel();
    }

    fn stalled(&self) -> bool {
        self.stop.is_cancelled()
    }
}

/// Several members of one group in this process.
pub struct Group {
    pub bootstrap: String,
    pub topic: String,
    pub group: String,
    pub protocol: Protocol,
    pub members: Vec<GroupMember>,
    started: Instant,
    /// What members that left had processed.
    retired: Vec<(i32, i64)>,
    /// The contexts of members that left, for their history.
    retired_contexts: Vec<Arc<MemberContext>>,
}

impl Group {
    pub fn new(bootstrap: &str, topic: &str, group: &str, protocol: Protocol) -> Group {
        Group {
            bootstrap: bootstrap.into(),
            topic: topic.into(),
            group: group.into(),
            protocol,
            members: Vec::new(),
            started: Instant::now(),
            retired: Vec::new(),
            retired_contexts: Vec::new(),
        }
    }

    /// A new member joins (subscribes) and starts reading.
    pub fn join(&mut self, name: &str, instance_id: Option<&str>) -> Result<()> {
        self.join_with(name, instance_id, &[])
    }

    /// A new member with extra settings joins and starts reading.
    pub fn join_with(
        &mut self,
        name: &str,
        instance_id: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<()> {
        let mut config = member_config(&self.bootstrap, &self.group, self.protocol, instance_id);
        for (key, value) in extra {
            config.set(*key, *value);
        }
        let consumer = Arc::new(lesson::join(&config, name, &self.topic)?);
        let processed = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let task = tokio::spawn({
            let (consumer, processed, stop) = (consumer.clone(), processed.clone(), stop.clone());
            async move {
                lesson::consume(&consumer, &stop, |message| {
                    lock(&processed).push((message.partition(), message.offset()));
                })
                .await
            }
        });
        self.members.push(GroupMember {
            name: name.into(),
            consumer,
            processed,
            stop,
            task,
        });
        Ok(())
    }

    /// Takes member `name` out of the group's list and ends its read loop.
    async fn take(&mut self, name: &str) -> Result<GroupMember> {
        let Some(index) = self.members.iter().position(|m| m.name == name) else {
            bail!("no member {name}");
        };
        let mut member = self.members.remove(index);
        member.stop.cancel();
        (&mut member.task).await??;
        Ok(member)
    }

    /// Closes the consumer off the async runtime (closing serves the last
    /// callbacks and may commit) and keeps what the member did.
    async fn retire(&mut self, member: GroupMember) -> Result<()> {
        self.retired.extend(lock(&member.processed).iter().copied());
        self.retired_contexts
            .push(Arc::clone(member.consumer.context()));
        let consumer = member.consumer;
        tokio::task::spawn_blocking(move || drop(consumer)).await?;
        Ok(())
    }

    /// A member leaves cleanly (the lesson's `leave`): the group rebalances
    /// at once.
    pub async fn leave(&mut self, name: &str) -> Result<()> {
        let member = self.take(name).await?;
        lesson::leave(&member.consumer).await;
        self.retire(member).await
    }

    /// A member's process ends without `unsubscribe` (its consumer is
    /// closed): what a restart looks like.
    pub async fn close_member(&mut self, name: &str) -> Result<()> {
        let member = self.take(name).await?;
        self.retire(member).await
    }

    /// Lets the members read for `duration`; fails if a read loop failed.
    pub async fn run_for(&mut self, duration: Duration) -> Result<()> {
        tokio::time::sleep(duration).await;
        self.check()
    }

    /// A read loop that ended although nobody stopped it has failed.
    fn check(&self) -> Result<()> {
        if let Some(member) = self
            .members
            .iter()
            .find(|m| !m.stalled() && m.task.is_finished())
        {
            bail!(
                "member {} of group {} stopped reading",
                member.name,
                self.group
            );
        }
        Ok(())
    }

    /// Waits until [`Group::is_complete`] holds and nothing changed for
    /// `quiet`; fails after `limit`. Returns how long it took.
    pub async fn settle(
        &mut self,
        partitions: i32,
        quiet: Duration,
        limit: Duration,
    ) -> Result<Duration> {
        let started = Instant::now();
        let mut last_change = (self.event_count(), Instant::now());
        loop {
            self.check()?;
            let count = self.event_count();
            if count != last_change.0 {
                last_change = (count, Instant::now());
            }
            if self.is_complete(partitions) && last_change.1.elapsed() >= quiet {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                bail!(
                    "group {} did not settle within {limit:?}: {:?}",
                    self.group,
                    self.assignment()
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
            all.extend(m.processed());
        }
        all
    }

    /// Every member's rebalance callbacks, past and present, in time order.
    pub fn events(&self) -> Vec<Event> {
        let contexts = self
            .members
            .iter()
            .map(|m| m.consumer.context())
            .chain(&self.retired_contexts);
        let mut events: Vec<Event> = contexts
            .flat_map(|context| {
                context.history().into_iter().map(|change| Event {
                    member: context.name().to_string(),
                    assigned: change.assigned,
                    partitions: change.partitions,
                    at: change.at.saturating_duration_since(self.started),
                })
            })
            .collect();
        events.sort_by_key(|e| e.at);
        events
    }

    /// How many callbacks happened so far (a mark for [`Group::events_since`]).
    pub fn event_count(&self) -> usize {
        self.events().len()
    }

    /// The callbacks after the first `mark`.
    pub fn events_since(&self, mark: usize) -> Vec<Event> {
        self.events().into_iter().skip(mark).collect()
    }

    /// Every member leaves, one after the other (each commits on revoke).
    pub async fn close(mut self) -> Result<()> {
        let names: Vec<String> = self.members.iter().map(|m| m.name.clone()).collect();
        for name in names {
            self.close_member(&name).await?;
        }
        Ok(())
    }
}

impl Drop for Group {
    /// Without [`Group::close`]: stop the read loops; the consumers close
    /// when their tasks end.
    fn drop(&mut self) {
        for member in &self.members {
            member.stop.cancel();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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

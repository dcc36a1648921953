//! Chapter 一's lab: what the showcase and the tests need around the
//! lesson — creating topics on the mock cluster too, checking the order of
//! what was read back, and running several group members at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::Consumer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tutorial_support::Cluster;

use crate::lesson::{self, Member, Received, Sent, TopicOutcome};

/// How the showcase got its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// Through the lesson's CreateTopics.
    Admin(TopicOutcome),
    /// The mock cluster has no CreateTopics; its own API created it.
    OnMock,
}

/// The lesson's `create_topic` on a real cluster; on the mock cluster, the
/// mock's own API (it does not implement CreateTopics).
pub async fn create_topic(
    cluster: &Cluster,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> Result<Created> {
    if let Some(mock) = cluster.mock() {
        mock.create_topic(topic, partitions, replication)?;
        return Ok(Created::OnMock);
    }
    let outcome =
        lesson::create_topic(cluster.bootstrap_servers(), topic, partitions, replication).await?;
    Ok(Created::Admin(outcome))
}

/// Sends `count` records with distinct keys (`k0`, `k1`, …), spread over
/// the partitions, and waits until all are acknowledged.
pub async fn produce_events(bootstrap: &str, topic: &str, count: usize) -> Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()?;
    let sends = (0..count).map(|i| {
        let (key, payload) = (format!("k{i}"), format!("event-{i}"));
        let producer = &producer;
        async move {
            let record = FutureRecord::to(topic).key(&key).payload(&payload);
            producer.send(record, Duration::from_secs(30)).await
        }
    });
    for result in futures::future::join_all(sends).await {
        result.map_err(|(e, _)| e).context("delivery failed")?;
    }
    Ok(())
}

/// The start offset of every partition the records in `sent` went to.
pub fn first_offsets(sent: &[Sent]) -> BTreeMap<i32, i64> {
    let mut start: BTreeMap<i32, i64> = BTreeMap::new();
    for s in sent {
        let first = start.entry(s.partition).or_insert(s.offset);
        *first = (*first).min(s.offset);
    }
    start
}

/// What the read-back shows about order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReport {
    /// Each key's partition; a key never appears in two partitions.
    pub partition_of_key: BTreeMap<String, i32>,
    /// Every key's records came back in the order they were sent.
    pub per_key_order_kept: bool,
    /// Offsets in every partition were consecutive: no gaps, no shared counter.
    pub offsets_consecutive: bool,
    /// The sequence of (key, seq) in the order one consumer received them,
    /// compared with the send order.
    pub global_order_kept: bool,
}

/// The sequence number in a payload `key#seq` (what `produce_keyed` sends).
pub fn seq_of(record: &Received) -> Result<u32> {
    let (_, seq) = record
        .payload
        .split_once('#')
        .with_context(|| format!("unexpected payload {:?}", record.payload))?;
    Ok(seq.parse()?)
}

/// Checks the read-back against the send order.
pub fn check_order(sent: &[Sent], received: &[Received]) -> Result<OrderReport> {
    let seqs: Vec<u32> = received.iter().map(seq_of).collect::<Result<_>>()?;
    let mut partition_of_key = BTreeMap::new();
    let mut split_key = false;
    for r in received {
        if let Some(previous) = partition_of_key.insert(r.key.clone(), r.partition) {
            split_key |= previous != r.partition;
        }
    }
    let mut last_seq: BTreeMap<&str, u32> = BTreeMap::new();
    let mut per_key_order_kept = !split_key;
    for (r, &seq) in received.iter().zip(&seqs) {
        if let Some(&previous) = last_seq.get(r.key.as_str()) {
            per_key_order_kept &= seq > previous;
        }
        last_seq.insert(&r.key, seq);
    }
    let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for r in received {
        by_partition.entry(r.partition).or_default().push(r.offset);
    }
    let offsets_consecutive = by_partition
        .values()
        .all(|offsets| offsets.windows(2).all(|w| w[1] == w[0] + 1));
    let global_order_kept = sent.iter().map(|s| (s.key.as_str(), s.seq)).eq(received
        .iter()
        .map(|r| r.key.as_str())
        .zip(seqs.iter().copied()));
    Ok(OrderReport {
        partition_of_key,
        per_key_order_kept,
        offsets_consecutive,
        global_order_kept,
    })
}

/// One member of a [`Group`]: the lesson's consumer, read by the lesson's
/// loop in its own task, with what it received.
struct Running {
    member: Arc<Member>,
    received: Arc<Mutex<Vec<(i32, i64)>>>,
    task: JoinHandle<Result<()>>,
}

/// The members of one consumer group, all in this process.
pub struct Group {
    pub group_id: String,
    members: Vec<Running>,
    stop: CancellationToken,
}

impl Group {
    /// Starts `size` consumers with the same `group.id`, all subscribed to
    /// `topic`, each reading in its own task.
    pub fn join(bootstrap: &str, topic: &str, group_id: &str, size: usize) -> Result<Group> {
        Group::join_with(bootstrap, topic, group_id, size, &[])
    }

    /// [`Group::join`] with `settings` added to the lesson's member settings
    /// (the chapter uses it on the mock cluster only, see `show_groups`).
    pub fn join_with(
        bootstrap: &str,
        topic: &str,
        group_id: &str,
        size: usize,
        settings: &[(&str, &str)],
    ) -> Result<Group> {
        let stop = CancellationToken::new();
        let mut members = Vec::with_capacity(size);
        for _ in 0..size {
            let member = if settings.is_empty() {
                lesson::join(bootstrap, topic, group_id)?
            } else {
                let mut config = lesson::member_config(bootstrap, group_id);
                for (key, value) in settings {
                    config.set(*key, *value);
                }
                let member: Member = config.create_with_context(lesson::MemberContext::default())?;
                member.subscribe(&[topic])?;
                member
            };
            let member = Arc::new(member);
            let received = Arc::new(Mutex::new(Vec::new()));
            let task = tokio::spawn({
                let (member, received, stop) = (member.clone(), received.clone(), stop.clone());
                async move {
                    lesson::consume(&member, &stop, |partition, offset| {
                        lock(&received).push((partition, offset));
                    })
                    .await
                }
            });
            members.push(Running {
                member,
                received,
                task,
            });
        }
        Ok(Group {
            group_id: group_id.to_string(),
            members,
            stop,
        })
    }

    /// Waits until the group has settled: every member has received an
    /// assignment (maybe empty), no partition is assigned twice, and together
    /// they cover all `partitions`. Returns each member's share.
    pub async fn wait_for_assignment(
        &self,
        partitions: i32,
        limit: Duration,
    ) -> Result<Vec<Vec<i32>>> {
        let deadline = Instant::now() + limit;
        loop {
            let shares: Option<Vec<Vec<i32>>> = self
                .members
                .iter()
                .map(|m| m.member.context().assigned())
                .collect();
            if let Some(shares) = shares
                && is_partitioning(&shares, partitions)
            {
                return Ok(shares);
            }
            if Instant::now() > deadline {
                bail!(
                    "group {} did not settle on an assignment of {partitions} partitions within {limit:?}",
                    self.group_id
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the group as a whole has received `expected` records;
    /// returns the (partition, offset) pairs each member received.
    pub async fn consume(&self, expected: usize, limit: Duration) -> Result<Vec<Vec<(i32, i64)>>> {
        let deadline = Instant::now() + limit;
        loop {
            let received: Vec<Vec<(i32, i64)>> = self
                .members
                .iter()
                .map(|m| lock(&m.received).clone())
                .collect();
            let total: usize = received.iter().map(Vec::len).sum();
            if total >= expected {
                return Ok(received);
            }
            if self.members.iter().any(|m| m.task.is_finished()) {
                bail!(
                    "a member of group {} stopped reading ({total} of {expected} records received); \
                     leave() reports its error",
                    self.group_id
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "group {} received {total} of {expected} records within {limit:?}",
                    self.group_id
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the read loops and leaves the group cleanly (instead of
    /// letting the coordinator wait for the session timeout).
    pub async fn leave(self) -> Result<()> {
        self.stop.cancel();
        for running in self.members {
            running.task.await??;
            running.member.unsubscribe();
        }
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// True if `shares` assigns each of `0..partitions` to exactly one member.
pub fn is_partitioning(shares: &[Vec<i32>], partitions: i32) -> bool {
    let mut seen = BTreeSet::new();
    for share in shares {
        for &p in share {
            if !seen.insert(p) {
                return false;
            }
        }
    }
    seen.len() == partitions as usize && seen.iter().all(|p| (0..partitions).contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(key: &str, seq: u32, partition: i32, offset: i64) -> Sent {
        Sent {
            key: key.into(),
            seq,
            partition,
            offset,
        }
    }

    fn got(partition: i32, offset: i64, key: &str, seq: u32) -> Received {
        Received {
            partition,
            offset,
            key: key.into(),
            payload: format!("{key}#{seq}"),
        }
    }

    #[test]
    fn partitioning_check_rejects_gaps_and_doubles() {
        assert!(is_partitioning(&[vec![0, 1], vec![2]], 3));
        assert!(is_partitioning(&[vec![0], vec![1], vec![2], vec![]], 3));
        assert!(!is_partitioning(&[vec![0, 1], vec![1, 2]], 3));
        assert!(!is_partitioning(&[vec![0], vec![1]], 3));
    }

    #[test]
    fn order_check_detects_a_reordered_key() {
        let s = [sent("a", 0, 0, 0), sent("b", 0, 1, 0), sent("a", 1, 0, 1)];
        let in_order = [got(0, 0, "a", 0), got(0, 1, "a", 1), got(1, 0, "b", 0)];
        let report = check_order(&s, &in_order).unwrap();
        assert!(report.per_key_order_kept && report.offsets_consecutive);
        assert!(
            !report.global_order_kept,
            "partition-by-partition reading changes the global order"
        );
        let swapped = [got(0, 0, "a", 1), got(0, 1, "a", 0), got(1, 0, "b", 0)];
        assert!(!check_order(&s, &swapped).unwrap().per_key_order_kept);
    }
}

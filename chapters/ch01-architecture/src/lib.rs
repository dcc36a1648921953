//! Chapter 一: Kafka's architecture, observed on a live cluster.
//!
//! Every function here asks the cluster a question the book explains:
//! who the brokers are, how a topic is split into partitions and where their
//! replicas live, what order means in a partitioned log, and how consumer
//! groups share partitions. `main.rs` tells the story; the tests prove it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tutorial_support::Cluster;

/// Bound for every single request to the cluster in this chapter.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Brokers
// ---------------------------------------------------------------------------

/// What a client can learn about the cluster itself.
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub cluster_id: Option<String>,
    pub brokers: Vec<(i32, String)>,
}

// ANCHOR: describe_cluster
/// Any broker answers a metadata request with the whole cluster's view:
/// every live broker and, per partition, its leader, replicas and ISR.
/// That is why `bootstrap.servers` needs only one reachable address.
pub fn describe_cluster(bootstrap: &str) -> Result<ClusterView> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let metadata = client.fetch_metadata(None, REQUEST_TIMEOUT)?;
    let brokers = metadata
        .brokers()
        .iter()
        .map(|b| (b.id(), format!("{}:{}", b.host(), b.port())))
        .collect();
    Ok(ClusterView {
        cluster_id: client.client().fetch_cluster_id(REQUEST_TIMEOUT),
        brokers,
    })
}
// ANCHOR_END: describe_cluster

// ---------------------------------------------------------------------------
// Topics and partitions
// ---------------------------------------------------------------------------

/// Whether the topic was created now or existed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicOutcome {
    Created,
    AlreadyExisted,
    /// The mock cluster has no CreateTopics; its own API created it.
    CreatedOnMock,
}

// ANCHOR: create_topic
/// Creates `topic` through the Admin API (CreateTopics). The partition count
/// and the replication factor are fixed at creation; "already exists" is an
/// answer, not a failure, so running the chapter twice is fine.
pub async fn create_topic(
    cluster: &Cluster,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> Result<TopicOutcome> {
    if let Some(mock) = cluster.mock() {
        mock.create_topic(topic, partitions, replication)?;
        return Ok(TopicOutcome::CreatedOnMock);
    }
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    let results = admin.create_topics([&new_topic], &options).await?;
    match results.into_iter().next() {
        Some(Ok(_)) => {
            wait_for_leaders(cluster.bootstrap_servers(), topic).await?;
            Ok(TopicOutcome::Created)
        }
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(TopicOutcome::AlreadyExisted),
        Some(Err((name, RDKafkaErrorCode::InvalidReplicationFactor))) => bail!(
            "cannot create {name} with replication factor {replication}: the cluster has {} broker(s); \
             use --replication-factor {} or start more brokers (cargo xtask kafka up --nodes 3)",
            cluster.brokers().len(),
            cluster.brokers().len()
        ),
        Some(Err((name, code))) => bail!("creating topic {name} failed: {code}"),
        None => bail!("the broker sent no result for CreateTopics"),
    }
}
// ANCHOR_END: create_topic

/// CreateTopics returns once the controller has recorded the topic; the
/// brokers learn about it a moment later. Until then a metadata request may
/// still answer "unknown topic", so wait until every partition has a leader.
async fn wait_for_leaders(bootstrap: &str, topic: &str) -> Result<()> {
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        let ready = describe_partitions(bootstrap, topic)
            .map(|ps| !ps.is_empty() && ps.iter().all(|p| p.leader >= 0))
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "topic {topic} was created but has no leader for every partition after {REQUEST_TIMEOUT:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deletes a topic (used for the chapter's scratch topics).
pub async fn delete_topic(cluster: &Cluster, topic: &str) -> Result<()> {
    if cluster.is_mock() {
        return Ok(()); // the mock has no DeleteTopics; it vanishes with the process
    }
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()?;
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    admin.delete_topics(&[topic], &options).await?;
    Ok(())
}

/// One partition as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionView {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    /// The first offset still stored (older records were deleted by retention).
    pub low_watermark: i64,
    /// One past the last record consumers may read: the end of what every
    /// in-sync replica has copied. In a quiet partition it is also the offset
    /// the next record will get.
    pub high_watermark: i64,
}

// ANCHOR: describe_partitions
/// Per partition: the leader (the one broker that takes writes and serves
/// reads), the replicas (brokers holding a copy), the ISR (replicas caught up
/// with the leader), and the low/high watermarks (the range of offsets stored).
pub fn describe_partitions(bootstrap: &str, topic: &str) -> Result<Vec<PartitionView>> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let metadata = client.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
    let Some(topic_metadata) = metadata.topics().first() else {
        bail!("the cluster returned no metadata for topic {topic}");
    };
    if let Some(error) = topic_metadata.error() {
        bail!("topic {topic}: {:?}", RDKafkaErrorCode::from(error));
    }
    let mut partitions = Vec::new();
    for p in topic_metadata.partitions() {
        let (low, high) = client.fetch_watermarks(topic, p.id(), REQUEST_TIMEOUT)?;
        partitions.push(PartitionView {
            id: p.id(),
            leader: p.leader(),
            replicas: p.replicas().to_vec(),
            isr: p.isr().to_vec(),
            low_watermark: low,
            high_watermark: high,
        });
    }
    partitions.sort_by_key(|p| p.id);
    Ok(partitions)
}
// ANCHOR_END: describe_partitions

// ---------------------------------------------------------------------------
// Order: within a partition, not across
// ---------------------------------------------------------------------------

/// One record as sent: its key, its sequence number within the key, and
/// where Kafka put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub key: String,
    pub seq: u32,
    pub partition: i32,
    pub offset: i64,
}

// ANCHOR: producer_config
/// The producer of this chapter. `partitioner` is left at librdkafka's
/// default (`consistent_random`: CRC32 of the key, modulo the partition
/// count; a random partition for records without a key).
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        // Bound the wait: by default librdkafka retries for 5 minutes.
        .set("message.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: produce_keyed
/// Sends `per_key` records for each key, interleaving the keys
/// (alice#0, bob#0, …, alice#1, bob#1, …) so the global send order is known.
///
/// The partition of a keyed record is a hash of its key, so all records of
/// one key land in one partition. Idempotence is on because it also keeps
/// the order of a partition intact when a batch has to be retried.
pub async fn produce_keyed(
    bootstrap: &str,
    topic: &str,
    keys: &[&str],
    per_key: u32,
) -> Result<Vec<Sent>> {
    let producer: FutureProducer = producer_config(bootstrap).create()?;
    let mut deliveries = Vec::new();
    for seq in 0..per_key {
        for key in keys {
            let payload = format!("{key}#{seq}");
            let record = FutureRecord::to(topic).key(*key).payload(&payload);
            // `send_result` enqueues now and hands back the delivery future,
            // so the records are queued in exactly this order.
            let delivery = producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .context("enqueue record")?;
            deliveries.push((key.to_string(), seq, delivery));
        }
    }
    let mut sent = Vec::with_capacity(deliveries.len());
    for (key, seq, delivery) in deliveries {
        let report = tokio::time::timeout(Duration::from_secs(35), delivery)
            .await
            .context("no delivery report within 35 s")?
            .context("producer dropped")?;
        let delivered = report.map_err(|(e, _)| e).context("delivery failed")?;
        sent.push(Sent {
            key,
            seq,
            partition: delivered.partition,
            offset: delivered.offset,
        });
    }
    Ok(sent)
}
// ANCHOR_END: produce_keyed

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

/// A record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub seq: u32,
}

// ANCHOR: read_back
/// Reads `count` records starting at the given offset of each partition,
/// without a consumer group: `assign` names the partitions and offsets
/// explicitly, so nothing is committed and no other consumer is involved.
pub async fn read_back(
    bootstrap: &str,
    topic: &str,
    start: &BTreeMap<i32, i64>,
    count: usize,
) -> Result<Vec<Received>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka's consumer refuses assign() without a group.id
        // ("Unknown group"), although assign() never joins that group.
        .set("group.id", "ch01-read-back")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for (&partition, &offset) in start {
        assignment.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut received = Vec::with_capacity(count);
    while received.len() < count {
        if Instant::now() > deadline {
            bail!("read {} of {count} records within 30 s", received.len());
        }
        // poll(ZERO) never blocks; the sleep lets other tasks run meanwhile.
        match consumer.poll(Duration::ZERO) {
            Some(message) => received.push(parse(&message?)?),
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    Ok(received)
}
// ANCHOR_END: read_back

fn parse(message: &impl Message) -> Result<Received> {
    let payload = std::str::from_utf8(message.payload().unwrap_or_default())?;
    let (key, seq) = payload
        .split_once('#')
        .with_context(|| format!("unexpected payload {payload:?}"))?;
    Ok(Received {
        partition: message.partition(),
        offset: message.offset(),
        key: key.to_string(),
        seq: seq.parse()?,
    })
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

/// Checks the read-back against the send order.
pub fn check_order(sent: &[Sent], received: &[Received]) -> OrderReport {
    let mut partition_of_key = BTreeMap::new();
    let mut split_key = false;
    for r in received {
        if let Some(previous) = partition_of_key.insert(r.key.clone(), r.partition) {
            split_key |= previous != r.partition;
        }
    }
    let mut last_seq: BTreeMap<&str, u32> = BTreeMap::new();
    let mut per_key_order_kept = !split_key;
    for r in received {
        if let Some(&previous) = last_seq.get(r.key.as_str()) {
            per_key_order_kept &= r.seq > previous;
        }
        last_seq.insert(&r.key, r.seq);
    }
    let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for r in received {
        by_partition.entry(r.partition).or_default().push(r.offset);
    }
    let offsets_consecutive = by_partition
        .values()
        .all(|offsets| offsets.windows(2).all(|w| w[1] == w[0] + 1));
    let global_order_kept = sent
        .iter()
        .map(|s| (&s.key, s.seq))
        .eq(received.iter().map(|r| (&r.key, r.seq)));
    OrderReport {
        partition_of_key,
        per_key_order_kept,
        offsets_consecutive,
        global_order_kept,
    }
}

// ---------------------------------------------------------------------------
// Consumer groups
// ---------------------------------------------------------------------------

// ANCHOR: member_context
/// Remembers the partitions the group coordinator gave this member. librdkafka
/// calls `post_rebalance` from inside `poll` whenever the group's assignment
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
    fn assigned(&self) -> Option<Vec<i32>> {
        self.assigned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The members of one consumer group, all in this process.
pub struct Group {
    pub group_id: String,
    members: Vec<BaseConsumer<MemberContext>>,
}

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

// ANCHOR: join_group
impl Group {
    /// Starts `size` consumers with the same `group.id`, all subscribed to
    /// `topic`. Each `subscribe` makes the member join the group, which
    /// triggers a rebalance.
    pub fn join(bootstrap: &str, topic: &str, group_id: &str, size: usize) -> Result<Group> {
        let mut members = Vec::with_capacity(size);
        for _ in 0..size {
            let consumer: BaseConsumer<MemberContext> =
                member_config(bootstrap, group_id).create_with_context(MemberContext::default())?;
            consumer.subscribe(&[topic])?;
            members.push(consumer);
        }
        Ok(Group {
            group_id: group_id.to_string(),
            members,
        })
    }
    // ANCHOR_END: join_group

    /// Polls every member until the group has settled: every member has
    /// received an assignment (maybe empty), no partition is assigned twice,
    /// and together they cover all `partitions`. Returns each member's share.
    pub async fn wait_for_assignment(
        &self,
        partitions: i32,
        limit: Duration,
    ) -> Result<Vec<Vec<i32>>> {
        let deadline = Instant::now() + limit;
        loop {
            for member in &self.members {
                // Rebalance callbacks run inside poll; a message fetched
                // meanwhile is not expected (the topic is empty) and dropped.
                let _ = member.poll(Duration::ZERO);
            }
            let shares: Option<Vec<Vec<i32>>> = self
                .members
                .iter()
                .map(|m| m.context().assigned())
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

    // ANCHOR: consume_group
    /// Polls every member until the group as a whole has received `expected`
    /// records; returns the (partition, offset) pairs each member received.
    pub async fn consume(&self, expected: usize, limit: Duration) -> Result<Vec<Vec<(i32, i64)>>> {
        let deadline = Instant::now() + limit;
        let mut received: Vec<Vec<(i32, i64)>> = vec![Vec::new(); self.members.len()];
        while received.iter().map(Vec::len).sum::<usize>() < expected {
            let mut idle = true;
            for (member, records) in self.members.iter().zip(received.iter_mut()) {
                if let Some(message) = member.poll(Duration::ZERO) {
                    let message = message?;
                    records.push((message.partition(), message.offset()));
                    idle = false;
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "group {} received {} of {expected} records within {limit:?}",
                    self.group_id,
                    received.iter().map(Vec::len).sum::<usize>()
                );
            }
            if idle {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        Ok(received)
    }
    // ANCHOR_END: consume_group

    /// Leaves the group cleanly (instead of waiting for the session timeout).
    pub fn leave(self) {
        for member in &self.members {
            member.unsubscribe();
        }
    }
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
            seq,
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
        let report = check_order(&s, &in_order);
        assert!(report.per_key_order_kept && report.offsets_consecutive);
        assert!(
            !report.global_order_kept,
            "partition-by-partition reading changes the global order"
        );
        let swapped = [got(0, 0, "a", 1), got(0, 1, "a", 0), got(1, 0, "b", 0)];
        assert!(!check_order(&s, &swapped).per_key_order_kept);
    }
}

//! Brokers, topics and partitions: what any broker tells a client about the
//! cluster, and how a topic is created and laid out.

use std::time::Duration;

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use tutorial_support::topics::wait_for_leaders;

/// Bound for every single request to the cluster in this chapter:
/// librdkafka itself would wait for ever.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a client can learn about the cluster itself.
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub cluster_id: Option<String>,
    /// (broker id, host:port)
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

/// Whether the topic was created now or existed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicOutcome {
    Created,
    AlreadyExisted,
}

// ANCHOR: create_topic
/// Creates `topic` through the Admin API (CreateTopics). The partition count
/// and the replication factor are fixed at creation; "already exists" is an
/// answer, not a failure, so running the chapter twice is fine.
pub async fn create_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> Result<TopicOutcome> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    let results = admin.create_topics([&new_topic], &options).await?;
    match results.into_iter().next() {
        Some(Ok(_)) => {
            // The brokers learn about the topic a moment after the controller:
            // wait until every partition has a leader that answers for it.
            wait_for_leaders(admin.inner(), topic, None, REQUEST_TIMEOUT).await?;
            Ok(TopicOutcome::Created)
        }
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(TopicOutcome::AlreadyExisted),
        Some(Err((name, RDKafkaErrorCode::InvalidReplicationFactor))) => {
            let brokers = describe_cluster(bootstrap)?.brokers.len();
            bail!(
                "cannot create {name} with replication factor {replication}: the cluster has {brokers} broker(s); \
                 use --replication-factor {brokers} or start more brokers (cargo xtask kafka up --nodes 3)"
            )
        }
        Some(Err((name, code))) => bail!("creating topic {name} failed: {code}"),
        None => bail!("the broker sent no result for CreateTopics"),
    }
}
// ANCHOR_END: create_topic

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

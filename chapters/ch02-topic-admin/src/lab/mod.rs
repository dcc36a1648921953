//! The lab of 二.1: reading back what the cluster reports, to check the
//! lesson's admin calls did what they said, and kafka-go's answers to the
//! same CreateTopics requests ([`kafka_go`]).

pub mod kafka_go;

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use tutorial_support::topics::wait_for_leaders;

use crate::lesson::{ADMIN_TIMEOUT, Admin};

/// The partition count the cluster reports for `topic`.
pub fn partition_count(bootstrap: &str, topic: &str) -> Result<usize> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let metadata = client.fetch_metadata(Some(topic), ADMIN_TIMEOUT)?;
    let topic_metadata = metadata.topics().first().context("no topic metadata")?;
    if let Some(error) = topic_metadata.error() {
        bail!("topic {topic}: {:?}", RDKafkaErrorCode::from(error));
    }
    Ok(topic_metadata.partitions().len())
}

/// Waits until metadata shows `expected` partitions, each with a leader
/// (brokers learn about new partitions a moment after the controller
/// records them).
pub async fn wait_for_partition_count(admin: &Admin, topic: &str, expected: usize) -> Result<()> {
    wait_for_leaders(admin.inner(), topic, Some(expected), ADMIN_TIMEOUT)
        .await
        .with_context(|| format!("waiting for {expected} partitions of {topic}"))
}

/// Waits until metadata shows `topic` with a leader for every partition.
/// CreateTopics answers once the controller has recorded the topic; the
/// broker that serves DescribeConfigs learns it a moment later, and asked
/// too early it describes a topic without its configs.
pub async fn wait_until_visible(admin: &Admin, topic: &str) -> Result<()> {
    wait_for_leaders(admin.inner(), topic, None, ADMIN_TIMEOUT)
        .await
        .with_context(|| format!("waiting for topic {topic} to appear in the metadata"))
}

/// The keys whose partition differs between two placements.
pub fn moved<'a>(
    keys: &[&'a str],
    before: &std::collections::BTreeMap<String, i32>,
    after: &std::collections::BTreeMap<String, i32>,
) -> Vec<&'a str> {
    keys.iter()
        .copied()
        .filter(|key| before.get(*key) != after.get(*key))
        .collect()
}

//! 二.1 创建 Topic: creating topics programmatically with the Admin API.
//!
//! A topic's partition count, replication factor and topic-level configs are
//! decided when it is created; this chapter creates one, reads back what the
//! broker actually applied, grows it, and shows what growing costs.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier,
    TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Bound for every admin request: the broker's own operation timeout and our wait.
pub const ADMIN_TIMEOUT: Duration = Duration::from_secs(15);

pub type Admin = AdminClient<DefaultClientContext>;

/// What to create.
#[derive(Debug, Clone)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
    /// Topic-level configs, e.g. `("retention.ms", "3600000")`.
    pub configs: Vec<(String, String)>,
}

/// The broker's answer to CreateTopics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExists,
}

/// Why a topic could not be created, in words a reader can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CreateError {
    #[error(
        "cannot create topic {topic} with replication factor {requested}: the cluster has only {brokers} broker(s). \
         Use a replication factor of at most {brokers}, or start more brokers (cargo xtask kafka up --nodes 3)"
    )]
    ReplicationFactorTooLarge {
        topic: String,
        requested: i32,
        brokers: usize,
    },
    #[error(
        "the broker rejected topic config {settings} for topic {topic}: unknown name or invalid value \
         (see https://kafka.apache.org/documentation/#topicconfigs)"
    )]
    InvalidConfig { topic: String, settings: String },
    #[error("cannot create topic {topic}: {code}")]
    Other { topic: String, code: String },
}

// ANCHOR: admin_client
/// An Admin API client. Any broker accepts admin requests; in KRaft mode it
/// forwards the ones that change metadata (CreateTopics, CreatePartitions,
/// IncrementalAlterConfigs) to the active controller.
pub fn admin_client(bootstrap: &str) -> Result<Admin> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?)
}

fn options() -> AdminOptions {
    AdminOptions::new()
        .request_timeout(Some(ADMIN_TIMEOUT))
        .operation_timeout(Some(ADMIN_TIMEOUT))
}
// ANCHOR_END: admin_client

// ANCHOR: create_topic
/// Creates the topic with its configs. "Already exists" is an answer, not a
/// failure; the other refusals become a [`CreateError`] that says what to fix.
pub async fn create_topic(admin: &Admin, spec: &TopicSpec, brokers: usize) -> Result<Created> {
    let mut topic = NewTopic::new(
        &spec.name,
        spec.partitions,
        TopicReplication::Fixed(spec.replication),
    );
    for (key, value) in &spec.configs {
        topic = topic.set(key, value);
    }
    let results = admin.create_topics([&topic], &options()).await?;
    let code = match results.into_iter().next() {
        Some(Ok(_)) => return Ok(Created::Created),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => return Ok(Created::AlreadyExists),
        Some(Err((_, code))) => code,
        None => bail!("the broker sent no result for CreateTopics"),
    };
    let error = match code {
        RDKafkaErrorCode::InvalidReplicationFactor => CreateError::ReplicationFactorTooLarge {
            topic: spec.name.clone(),
            requested: spec.replication,
            brokers,
        },
        RDKafkaErrorCode::InvalidConfig => CreateError::InvalidConfig {
            topic: spec.name.clone(),
            settings: rejected_configs(admin, spec).await,
        },
        other => CreateError::Other {
            topic: spec.name.clone(),
            code: other.to_string(),
        },
    };
    Err(error.into())
}
// ANCHOR_END: create_topic

// ANCHOR: rejected_configs
/// The broker answers with the code INVALID_CONFIG and a message naming
/// the setting, but rdkafka 0.39 hands us only the code (its `TopicResult`
/// is a name and an error code; librdkafka has the message). Ask again with
/// `validate_only` (nothing is created) once per setting to name the
/// culprits.
async fn rejected_configs(admin: &Admin, spec: &TopicSpec) -> String {
    let mut rejected = Vec::new();
    for (key, value) in &spec.configs {
        let probe =
            NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(1)).set(key, value);
        let verdict = admin
            .create_topics([&probe], &options().validate_only(true))
            .await;
        if let Ok(results) = verdict
            && matches!(
                results.first(),
                Some(Err((_, RDKafkaErrorCode::InvalidConfig)))
            )
        {
            rejected.push(format!("{key}={value}"));
        }
    }
    if rejected.is_empty() {
        "(could not single out one setting)".into()
    } else {
        rejected.join(", ")
    }
}
// ANCHOR_END: rejected_configs

/// One topic config as the broker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedConfig {
    pub name: String,
    pub value: String,
    /// `true` if set on this topic; `false` if inherited from the broker's defaults.
    pub set_on_topic: bool,
}

// ANCHOR: describe_configs
/// DescribeConfigs: what the broker actually applied to the topic, and where
/// each value comes from (set on the topic, or inherited from the broker).
pub async fn describe_topic_configs(
    admin: &Admin,
    topic: &str,
    names: &[&str],
) -> Result<Vec<AppliedConfig>> {
    let results = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &options())
        .await?;
    let resource = results
        .into_iter()
        .next()
        .context("no DescribeConfigs result")?
        .map_err(|code| anyhow::anyhow!("describing topic {topic}: {code}"))?;
    let entries = resource.entry_map();
    names
        .iter()
        .map(|name| {
            let entry = entries
                .get(name)
                .with_context(|| format!("the broker does not know topic config {name}"))?;
            Ok(AppliedConfig {
                name: entry.name.clone(),
                value: entry.value.clone().unwrap_or_default(),
                set_on_topic: matches!(entry.source, ConfigSource::DynamicTopic),
            })
        })
        .collect()
}
// ANCHOR_END: describe_configs

// ANCHOR: grow_partitions
/// CreatePartitions: a topic can gain partitions, never lose them. Existing
/// data stays where it is; only new records see the new partition count.
pub async fn grow_partitions(admin: &Admin, topic: &str, new_total: usize) -> Result<()> {
    let request = NewPartitions::new(topic, new_total);
    let results = admin.create_partitions([&request], &options()).await?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(()),
        Some(Err((_, RDKafkaErrorCode::InvalidPartitions))) => bail!(
            "topic {topic} cannot be changed to {new_total} partitions: the count can only grow \
             (to shrink, create a new topic and copy the data)"
        ),
        Some(Err((_, code))) => bail!("growing topic {topic} to {new_total} partitions: {code}"),
        None => bail!("the broker sent no result for CreatePartitions"),
    }
}
// ANCHOR_END: grow_partitions

// ANCHOR: key_placement
/// Sends one record per key with the default partitioner and returns the
/// partition each key landed in.
pub async fn key_placement(
    bootstrap: &str,
    topic: &str,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "15000")
        // Partition counts are learned from metadata; refresh quickly after growth.
        .set("topic.metadata.refresh.interval.ms", "1000")
        .create()?;
    let mut placement = BTreeMap::new();
    for key in keys {
        let record = FutureRecord::to(topic).key(*key).payload("placement probe");
        let delivery = producer
            .send(record, Duration::from_secs(15))
            .await
            .map_err(|(e, _)| e)?;
        placement.insert((*key).to_string(), delivery.partition);
    }
    Ok(placement)
}
// ANCHOR_END: key_placement

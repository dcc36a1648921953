//! Topic helpers for chapters that are not about topic administration
//! (chapter 二.1 teaches the Admin API itself).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{Client, ClientContext, DefaultClientContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::Cluster;

/// A name no other test run will use: `prefix-<pid>-<millis>-<n>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{millis}-{n}", std::process::id())
}

/// Why a topic could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("creating topic {topic}: {reason}")]
    Create { topic: String, reason: String },
    #[error("topic {topic} has no leader for every partition after {waited:?}")]
    NotReady { topic: String, waited: Duration },
    #[error(transparent)]
    Kafka(#[from] KafkaError),
}

/// Creates `topic` unless it exists (on the mock cluster through the mock's
/// own API), with optional topic configs, and waits until every partition
/// has a leader. Returns `true` if it was created now.
pub async fn ensure_topic(
    cluster: &Cluster,
    topic: &str,
    partitions: i32,
    replication: i32,
    configs: &[(&str, &str)],
) -> Result<bool, TopicError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()?;
    let created = if let Some(mock) = cluster.mock() {
        mock.create_topic(topic, partitions, replication)?;
        true
    } else {
        let mut new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
        for (key, value) in configs {
            new_topic = new_topic.set(key, value);
        }
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(15)));
        let results = admin.create_topics([&new_topic], &options).await?;
        match results.into_iter().next() {
            Some(Ok(_)) => true,
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => false,
            Some(Err((_, code))) => {
                return Err(TopicError::Create {
                    topic: topic.into(),
                    reason: code.to_string(),
                });
            }
            None => {
                return Err(TopicError::Create {
                    topic: topic.into(),
                    reason: "no result from the broker".into(),
                });
            }
        }
    };
    wait_for_leaders(admin.inner(), topic, None, Duration::from_secs(15)).await?;
    Ok(created)
}

/// Deletes a topic, best effort (the mock cluster has no DeleteTopics).
pub async fn delete_topic(cluster: &Cluster, topic: &str) -> Result<(), TopicError> {
    if cluster.is_mock() {
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()?;
    admin
        .delete_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(15))),
        )
        .await?;
    Ok(())
}

/// CreateTopics returns once the controller recorded the topic; brokers
/// learn it a moment later. Waits until metadata shows the topic with
/// `partitions` partitions (any number if `None`), each with a leader that
/// also answers for it (its watermarks can be read): under load a leader
/// can be named in metadata a moment before it serves the partition.
pub async fn wait_for_leaders<C: ClientContext>(
    client: &Client<C>,
    topic: &str,
    partitions: Option<usize>,
    limit: Duration,
) -> Result<(), TopicError> {
    let deadline = Instant::now() + limit;
    loop {
        let ready = client
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .ok()
            .and_then(|m| {
                m.topics().first().map(|t| {
                    t.error().is_none()
                        && !t.partitions().is_empty()
                        && partitions.is_none_or(|n| t.partitions().len() == n)
                        && t.partitions().iter().all(|p| p.leader() >= 0)
                        && t.partitions().iter().all(|p| {
                            client
                                .fetch_watermarks(topic, p.id(), Duration::from_secs(5))
                                .is_ok()
                        })
                })
            })
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(TopicError::NotReady {
                topic: topic.into(),
                waited: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

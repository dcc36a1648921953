//! 二.1 exercise: create a topic from code — with its settings, and safe to
//! run again.
//!
//! A service that creates its own topics runs that code at every start, on
//! every instance: the second call must not fail because the first one
//! succeeded. Everything else the broker refuses (too many replicas, a bad
//! setting) must still stop the start-up with the reason.

use std::time::Duration;

use anyhow::{Result, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

pub type Admin = AdminClient<DefaultClientContext>;

/// What the broker said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    AlreadyExists,
}

/// Creates `name` with `partitions`, `replication` and the topic-level
/// `configs` (e.g. `("retention.ms", "3600000")`).
pub async fn ensure_topic(
    admin: &Admin,
    name: &str,
    partitions: i32,
    replication: i32,
    configs: &[(&str, &str)],
) -> Result<Created> {
    let options = AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(15)))
        .operation_timeout(Some(Duration::from_secs(15)));
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replication));
    for (key, value) in configs {
        topic = topic.set(key, value);
    }
    let results = admin.create_topics([&topic], &options).await?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(Created::Created),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(Created::AlreadyExists),
        Some(Err((_, code))) => bail!("cannot create topic {name}: {code}"),
        None => bail!("the broker sent no result for CreateTopics"),
    }
}

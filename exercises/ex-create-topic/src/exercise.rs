//! 二.1 exercise: create a topic from code — with its settings, and safe to
//! run again.
//!
//! A service that creates its own topics runs that code at every start, on
//! every instance: the second call must not fail because the first one
//! succeeded. Everything else the broker refuses (too many replicas, a bad
//! setting) must still stop the start-up with the reason.

use std::time::Duration;

#[allow(unused_imports)] // for the TODO
use anyhow::{Result, bail};
#[allow(unused_imports)] // for the TODO
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
#[allow(unused_imports)] // for the TODO
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
    // TODO: a NewTopic with the name, partitions and a fixed replication
    // factor, each of `configs` set on it; send it with `admin.create_topics`
    // and turn the one result into `Created`: "already exists" is an answer
    // (`Created::AlreadyExists`), every other error code is an error.
    let _ = (admin, name, partitions, replication, configs, options);
    todo!("ensure_topic")
}

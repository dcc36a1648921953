//! What an acknowledgement promises when a broker fails: a topic whose
//! `min.insync.replicas` gives `acks=all` its meaning, and a producer that
//! counts which records were acknowledged.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::cost::producer_config;

// ANCHOR: durability_topic
/// The topic for the failure demo: two replicas (leader and one follower on
/// the brokers we choose), `min.insync.replicas=2`, and unclean leader
/// election allowed, so that a replica that is out of sync may still take
/// over when the leader dies.
pub async fn create_durability_topic(
    bootstrap: &str,
    topic: &str,
    leader: i32,
    follower: i32,
) -> Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let replicas = [leader, follower];
    let assignment: [&[i32]; 1] = [&replicas];
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Variable(&assignment))
        .set("min.insync.replicas", "2")
        .set("unclean.leader.election.enable", "true");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(15)));
    let results = admin.create_topics([&new_topic], &options).await?;
    if let Some(Err((name, code))) = results.into_iter().next() {
        bail!("creating {name}: {code}");
    }
    Ok(())
}
// ANCHOR_END: durability_topic

// ANCHOR: produce_and_count_acks
/// Sends `count` records numbered 0.. (all at once) and returns the
/// numbers the producer got an acknowledgement for, and the first error seen.
pub async fn produce_and_count_acks(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    count: u32,
) -> Result<(BTreeSet<u32>, Option<String>)> {
    produce_numbered(bootstrap, topic, acks, 0, count).await
}

/// Like [`produce_and_count_acks`], numbering the records from `first`.
pub async fn produce_numbered(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    first: u32,
    count: u32,
) -> Result<(BTreeSet<u32>, Option<String>)> {
    let mut config = producer_config(bootstrap, acks);
    // A few quick retries, then give up: the error reported is then the
    // broker's last answer rather than a bare "message timed out".
    config
        .set("message.timeout.ms", "8000")
        .set("retries", "3")
        .set("retry.backoff.ms", "250");
    let producer: FutureProducer = config.create()?;
    let payloads: Vec<String> = (0..count).map(|seq| (seq + first).to_string()).collect();
    let sends = payloads.iter().map(|payload| {
        let record = FutureRecord::<(), _>::to(topic).payload(payload);
        producer.send(record, Duration::from_secs(5))
    });
    let mut acknowledged = BTreeSet::new();
    let mut first_error = None;
    for (seq, result) in (first..first + count).zip(futures::future::join_all(sends).await) {
        match result {
            Ok(_) => {
                acknowledged.insert(seq);
            }
            Err((error, _)) => {
                first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    Ok((acknowledged, first_error))
}
// ANCHOR_END: produce_and_count_acks

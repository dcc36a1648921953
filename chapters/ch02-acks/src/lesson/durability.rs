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
/// The topic for the failure drill: two replicas, the leader and one
/// follower on the brokers we choose, and `min.insync.replicas=2`, so an
/// `acks=all` write needs both. Unclean leader election stays off (the
/// default): every leader the drill sees is elected by the rules that are
/// meant to lose nothing.
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
        .set("min.insync.replicas", "2");
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(15)));
    let results = admin.create_topics([&new_topic], &options).await?;
    if let Some(Err((name, code))) = results.into_iter().next() {
        bail!("creating {name}: {code}");
    }
    Ok(())
}
// ANCHOR_END: durability_topic

// ANCHOR: produce_and_count_acks
/// A producer with the given `acks` that retries a few times, quickly, and
/// then gives up: the error it reports is then the broker's last answer
/// (or "message timed out"), not a retry loop that outlives the drill.
pub fn counting_producer(bootstrap: &str, acks: &str) -> Result<FutureProducer> {
    let mut config = producer_config(bootstrap, acks);
    config
        .set("message.timeout.ms", "8000")
        .set("retries", "3")
        .set("retry.backoff.ms", "250");
    Ok(config.create()?)
}

/// Sends `count` records numbered 0.. (all at once) and returns the
/// numbers the producer got an acknowledgement for, and the first error seen.
pub async fn produce_and_count_acks(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    count: u32,
) -> Result<(BTreeSet<u32>, Option<String>)> {
    let producer = counting_producer(bootstrap, acks)?;
    Ok(send_numbered(&producer, topic, 0, count).await)
}

/// Sends records numbered `first..first + count` with `producer` and
/// waits for every delivery report.
pub async fn send_numbered(
    producer: &FutureProducer,
    topic: &str,
    first: u32,
    count: u32,
) -> (BTreeSet<u32>, Option<String>) {
    let payloads: Vec<String> = (first..first + count).map(|seq| seq.to_string()).collect();
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
    (acknowledged, first_error)
}
// ANCHOR_END: produce_and_count_acks

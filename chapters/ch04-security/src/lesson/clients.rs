//! Producing, consuming and creating topics as a SCRAM user, under ACLs.
//!
//! Authentication says who you are; every request is then authorized
//! against the ACLs for your principal `User:<name>`. A denied request is
//! answered with an error code (`TOPIC_AUTHORIZATION_FAILED`,
//! `GROUP_AUTHORIZATION_FAILED`, …) and nothing is written or read. The
//! functions here count what got through, so a test can say "0 records".

use std::time::Duration;

use futures::future::join_all;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// What a producer got through.
#[derive(Debug, Default)]
pub struct Produced {
    pub delivered: usize,
    /// The first delivery error, e.g. `TopicAuthorizationFailed`.
    pub error: Option<KafkaError>,
}

/// What a consumer got through.
#[derive(Debug, Default)]
pub struct Consumed {
    pub records: usize,
    /// The error that stopped it, e.g. `GroupAuthorizationFailed`.
    pub error: Option<KafkaError>,
}

// ANCHOR: produce
/// Sends `count` records to `topic` and counts the deliveries. Every wait
/// is bounded: a denied topic fails the records at once, anything else
/// within `message.timeout.ms`.
pub async fn produce_counted(config: &ClientConfig, topic: &str, count: usize) -> Produced {
    let producer: FutureProducer = match config.clone().set("message.timeout.ms", "15000").create()
    {
        Ok(producer) => producer,
        Err(error) => {
            return Produced {
                delivered: 0,
                error: Some(error),
            };
        }
    };
    let payloads: Vec<String> = (0..count).map(|i| format!("record-{i}")).collect();
    let sends = payloads.iter().map(|payload| {
        let record = FutureRecord::<(), _>::to(topic).payload(payload);
        producer.send(record, Duration::from_secs(5))
    });
    let mut produced = Produced::default();
    for result in join_all(sends).await {
        match result {
            Ok(_) => produced.delivered += 1,
            Err((error, _)) => {
                produced.error.get_or_insert(error);
            }
        }
    }
    produced
}
// ANCHOR_END: produce

// ANCHOR: consume
/// Reads `topic` in consumer group `group` until `wanted` records arrived,
/// an error arrives, or `limit` passes; commits what it read.
pub async fn consume_counted(
    config: &ClientConfig,
    topic: &str,
    group: &str,
    wanted: usize,
    limit: Duration,
) -> Consumed {
    let consumer: StreamConsumer = match config
        .clone()
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
    {
        Ok(consumer) => consumer,
        Err(error) => {
            return Consumed {
                records: 0,
                error: Some(error),
            };
        }
    };
    let mut consumed = Consumed::default();
    if let Err(error) = consumer.subscribe(&[topic]) {
        consumed.error = Some(error);
        return consumed;
    }
    let reading = async {
        while consumed.records < wanted {
            match consumer.recv().await {
                Ok(_) => consumed.records += 1,
                // A denied group or topic comes back as an error here.
                Err(error) => {
                    consumed.error = Some(error);
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(limit, reading).await;
    if consumed.records > 0 {
        // What we processed is committed before we leave.
        if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
            consumed.error.get_or_insert(error);
        }
    }
    consumed
}
// ANCHOR_END: consume

// ANCHOR: create_topic
/// Creates `topic` with the admin API; a user without `CREATE` on the
/// cluster or the topic gets `TopicAuthorizationFailed`.
pub async fn create_topic(
    config: &ClientConfig,
    topic: &str,
    partitions: i32,
) -> Result<(), RDKafkaErrorCode> {
    let admin: AdminClient<DefaultClientContext> =
        config.create().map_err(|_| RDKafkaErrorCode::Fail)?;
    let options = AdminOptions::new()
        .request_timeout(Some(Duration::from_secs(20)))
        .operation_timeout(Some(Duration::from_secs(20)));
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = admin
        .create_topics([&new_topic], &options)
        .await
        .map_err(|e| e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(()),
        Some(Err((_, code))) => Err(code),
        None => Err(RDKafkaErrorCode::Fail),
    }
}
// ANCHOR_END: create_topic

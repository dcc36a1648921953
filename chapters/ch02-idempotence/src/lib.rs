//! Chapter 二.4 (part 2): the idempotent producer.
//!
//! A producer that does not hear back from the broker cannot tell "the
//! request was lost" from "the response was lost", so it sends the batch
//! again. With `enable.idempotence=true` the broker recognises the repeat
//! (same producer id, epoch and sequence numbers) and does not append it twice.

pub mod proxy;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// The broker side of the proxy: the `PROXIED` listener of `cargo xtask kafka up`.
pub const BROKER_PROXIED: &str = "localhost:9192";
/// Where the proxy listens, and what that listener advertises.
pub const PROXY_LISTEN: &str = "127.0.0.1:9292";
pub const PROXY_BOOTSTRAP: &str = "localhost:9292";

// ANCHOR: producer_config
/// The producer, with or without idempotence. Five requests may be in
/// flight per connection, so that a retried batch could also overtake
/// later ones.
pub fn producer_config(bootstrap: &str, idempotent: bool) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", idempotent.to_string())
        .set("acks", "all")
        .set("max.in.flight.requests.per.connection", "5")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

/// What one run produced and what the topic holds afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub sent: usize,
    pub acknowledged: usize,
    pub stored: usize,
    /// Stored records beyond the first copy of each.
    pub duplicates: usize,
    /// Each record's first copy appears in send order within the partition.
    pub order_kept: bool,
}

/// The proxy breaks connections on purpose; librdkafka reports each one as
/// an error ("all brokers down") before it reconnects and retries. Those are
/// expected here, so they go to the debug log instead of the screen.
pub struct ExpectBrokenConnections;

impl rdkafka::ClientContext for ExpectBrokenConnections {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!("expected while the proxy drops connections: {error}: {reason}");
    }
}

// ANCHOR: send_numbered
/// Sends records `0..count` (payload = number) to partition 0 through
/// `bootstrap` and waits for every acknowledgement.
pub async fn send_numbered(config: &ClientConfig, topic: &str, count: usize) -> Result<usize> {
    let producer: FutureProducer<ExpectBrokenConnections> =
        config.create_with_context(ExpectBrokenConnections)?;
    let payloads: Vec<String> = (0..count).map(|i| i.to_string()).collect();
    let sends = payloads.iter().map(|p| {
        let record = FutureRecord::<(), _>::to(topic).partition(0).payload(p);
        producer.send(record, Duration::from_secs(30))
    });
    let results = futures::future::join_all(sends).await;
    Ok(results.iter().filter(|r| r.is_ok()).count())
}
// ANCHOR_END: send_numbered

// ANCHOR: audit
/// Reads partition 0 directly from the broker (not through the proxy) and
/// counts copies of each record number.
pub async fn audit(
    bootstrap: &str,
    topic: &str,
    sent: usize,
    acknowledged: usize,
) -> Result<Outcome> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ch02-idempotence-audit")
        .set("enable.auto.commit", "false")
        .create()?;
    let (_, high) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(10))?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let mut copies: BTreeMap<usize, usize> = BTreeMap::new();
    let mut first_seen = Vec::new();
    let (mut next, deadline) = (0, Instant::now() + Duration::from_secs(30));
    while next < high {
        if Instant::now() > deadline {
            bail!("read {next} of {high} records within 30 s");
        }
        match consumer.poll(Duration::ZERO) {
            Some(message) => {
                let message = message?;
                next = message.offset() + 1;
                let n: usize =
                    std::str::from_utf8(message.payload().unwrap_or_default())?.parse()?;
                let count = copies.entry(n).or_default();
                if *count == 0 {
                    first_seen.push(n);
                }
                *count += 1;
            }
            None => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    Ok(Outcome {
        sent,
        acknowledged,
        stored: high as usize,
        duplicates: copies.values().map(|c| c - 1).sum(),
        order_kept: first_seen.windows(2).all(|w| w[0] < w[1]),
    })
}
// ANCHOR_END: audit

/// Creates `topic` with one partition whose only replica is broker 1, the
/// broker behind the proxy (on a three-node cluster the other brokers
/// advertise proxy ports nobody listens on).
pub async fn create_topic_on_broker_1(bootstrap: &str, topic: &str) -> Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let replicas = [1];
    let assignment: [&[i32]; 1] = [&replicas];
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Variable(&assignment));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(15)));
    if let Some(Err((name, code))) = admin
        .create_topics([&new_topic], &options)
        .await?
        .into_iter()
        .next()
    {
        bail!("creating {name}: {code}");
    }
    // Wait until the partition has its leader.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .ok()
            .and_then(|m| {
                m.topics()
                    .first()
                    .and_then(|t| t.partitions().first().map(|p| p.leader() == 1))
            })
            .unwrap_or(false);
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("topic {topic} has no leader after 15 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ANCHOR: trial
/// One run: a fresh topic, the proxy swallowing the responses of the first
/// `faults` Produce requests, `count` records sent through it.
pub async fn trial(
    bootstrap: &str,
    topic: &str,
    idempotent: bool,
    count: usize,
    faults: u32,
) -> Result<(Outcome, u32)> {
    create_topic_on_broker_1(bootstrap, topic).await?;
    let proxy = proxy::FaultProxy::start(PROXY_LISTEN, BROKER_PROXIED, faults).await?;
    let config = producer_config(PROXY_BOOTSTRAP, idempotent);
    let acknowledged = send_numbered(&config, topic, count).await?;
    let dropped = proxy.responses_dropped();
    drop(proxy);
    Ok((audit(bootstrap, topic, count, acknowledged).await?, dropped))
}
// ANCHOR_END: trial

//! Chapter 二.4: what an acknowledgement means.
//!
//! `acks` decides when the leader answers a produce request: never (0),
//! after writing to its own log (1), or after every in-sync replica has the
//! record (all, with at least `min.insync.replicas` of them). This crate
//! measures the cost of each setting and shows, by failing brokers on
//! purpose, what each one actually promises.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{
    BaseRecord, FutureProducer, FutureRecord, Producer, ProducerContext, ThreadedProducer,
};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// The three acknowledgement levels.
pub const ACKS: [&str; 3] = ["0", "1", "all"];

// ANCHOR: producer_config
/// A producer with the given `acks`. Idempotence is switched off explicitly:
/// it requires `acks=all`, and this chapter wants to compare all three.
pub fn producer_config(bootstrap: &str, acks: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("acks", acks)
        .set("enable.idempotence", "false")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "10000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: acks_zero_offset
/// With `acks=0` the broker sends no response at all, so the producer never
/// learns the offset: the delivery report says "delivered" as soon as the
/// request is written to the socket, with librdkafka's "invalid offset" (-1001).
pub async fn send_and_report_offset(bootstrap: &str, topic: &str, acks: &str) -> Result<i64> {
    let producer: FutureProducer = producer_config(bootstrap, acks).create()?;
    let record = FutureRecord::to(topic).key("k").payload("v");
    let delivery = producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)?;
    Ok(delivery.offset)
}
// ANCHOR_END: acks_zero_offset

/// Counts failed deliveries of the throughput run.
#[derive(Default)]
struct FailureCounter {
    failed: Mutex<u64>,
}

impl ClientContext for FailureCounter {}

impl ProducerContext for FailureCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            *self.failed.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        }
    }
}

/// One row of the comparison table.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub acks: String,
    pub records: u64,
    pub failed: u64,
    pub records_per_second: f64,
    /// Round trip of a single record sent alone: send → delivery report.
    pub p50: Duration,
    pub p99: Duration,
}

// ANCHOR: measure
/// Throughput: `records` records of `size` bytes, sent as fast as the
/// producer takes them, until the last delivery report.
pub fn throughput(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    records: u64,
    size: usize,
) -> Result<(f64, u64)> {
    let producer: ThreadedProducer<FailureCounter> =
        producer_config(bootstrap, acks).create_with_context(FailureCounter::default())?;
    let payload = vec![b'x'; size];
    let started = Instant::now();
    for i in 0..records {
        let key = (i % 64).to_string();
        let mut record = BaseRecord::to(topic).key(&key).payload(&payload);
        while let Err((_, unsent)) = producer.send(record) {
            // Local queue full: wait for deliveries to free room.
            record = unsent;
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    producer.flush(Duration::from_secs(60))?;
    let per_second = records as f64 / started.elapsed().as_secs_f64();
    let failed = *producer
        .context()
        .failed
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Ok((per_second, failed))
}

/// Latency: `samples` records sent one at a time, each awaited, so the
/// time measured is the acknowledgement round trip and not queueing.
pub async fn latency(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    samples: usize,
) -> Result<(Duration, Duration)> {
    let mut config = producer_config(bootstrap, acks);
    // No batching delay: measure the acknowledgement, not linger.ms.
    config.set("linger.ms", "0");
    let producer: FutureProducer = config.create()?;
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let payload = i.to_string();
        let record = FutureRecord::<(), _>::to(topic).payload(&payload);
        let started = Instant::now();
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)?;
        times.push(started.elapsed());
    }
    times.sort_unstable();
    let at = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    Ok((at(0.50), at(0.99)))
}

/// Both measurements for one acks setting.
pub async fn measure(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    records: u64,
    size: usize,
) -> Result<Measurement> {
    let (b, t, a) = (bootstrap.to_string(), topic.to_string(), acks.to_string());
    let (records_per_second, failed) =
        tokio::task::spawn_blocking(move || throughput(&b, &t, &a, records, size)).await??;
    let (p50, p99) = latency(bootstrap, topic, acks, 300).await?;
    Ok(Measurement {
        acks: acks.to_string(),
        records,
        failed,
        records_per_second,
        p50,
        p99,
    })
}
// ANCHOR_END: measure

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

/// Leader and in-sync replicas of partition 0 of `topic`, as the cluster
/// reports them now.
pub fn leader_and_isr(bootstrap: &str, topic: &str) -> Result<(i32, Vec<i32>)> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let metadata = client.fetch_metadata(Some(topic), Duration::from_secs(5))?;
    let partition = metadata
        .topics()
        .first()
        .and_then(|t| t.partitions().first())
        .context("no metadata for partition 0")?;
    Ok((partition.leader(), partition.isr().to_vec()))
}

/// Polls until `check(leader, isr)` holds; fails after `limit`.
pub async fn wait_for(
    bootstrap: &str,
    topic: &str,
    limit: Duration,
    what: &str,
    check: impl Fn(i32, &[i32]) -> bool,
) -> Result<(i32, Vec<i32>)> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok((leader, isr)) = leader_and_isr(bootstrap, topic)
            && check(leader, &isr)
        {
            return Ok((leader, isr));
        }
        if Instant::now() > deadline {
            let now = leader_and_isr(bootstrap, topic).ok();
            bail!("{what}: not reached within {limit:?} (leader, isr now: {now:?})");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

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

/// Every record number stored in partition 0 of `topic`, read from the
/// beginning up to the current high watermark.
pub async fn stored_records(bootstrap: &str, topic: &str) -> Result<BTreeSet<u32>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ch02-acks-audit")
        .set("enable.auto.commit", "false")
        .create()?;
    // Right after a leader change the new leader may answer "high watermark
    // not caught up yet" for a moment: ask again until it knows.
    let deadline = Instant::now() + Duration::from_secs(30);
    let high = loop {
        match consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)) {
            Ok((_, high)) => break high,
            Err(error) if Instant::now() < deadline => {
                tracing::debug!("watermarks not available yet: {error}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(error) => return Err(error.into()),
        }
    };
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let mut stored = BTreeSet::new();
    let mut next = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while next < high {
        if Instant::now() > deadline {
            bail!("read up to offset {next} of {high} within 30 s");
        }
        match consumer.poll(Duration::ZERO) {
            // The cluster just lost a broker: connection errors are expected
            // and retried by librdkafka; keep reading until the deadline.
            Some(Err(error)) => {
                tracing::debug!("while reading back: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Some(Ok(message)) => {
                next = message.offset() + 1;
                if let Some(seq) = message
                    .payload()
                    .and_then(|p| std::str::from_utf8(p).ok())
                    .and_then(|s| s.parse().ok())
                {
                    stored.insert(seq);
                }
            }
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    Ok(stored)
}

/// The outcome of one failure drill.
#[derive(Debug, Clone)]
pub struct Trial {
    pub acks: String,
    /// Records 0..50, written with acks=all while both replicas were in sync.
    pub before: u32,
    /// Records 50.., written with `acks` while only the leader was in sync.
    pub sent: u32,
    /// Records the producer was told were written.
    pub acknowledged: BTreeSet<u32>,
    /// The first error the producer reported, if any.
    pub first_error: Option<String>,
    /// Records readable after the failover.
    pub stored: BTreeSet<u32>,
    /// Acknowledged but gone: the promise that was broken.
    pub lost: BTreeSet<u32>,
}

// ANCHOR: durability_trial
/// The failure drill, on the local three-node cluster:
///
/// 1. a topic with replicas on brokers A (leader) and B, `min.insync.replicas=2`;
/// 2. B freezes (SIGSTOP) and, after `replica.lag.time.max.ms`, leaves the ISR;
/// 3. the producer writes `count` records with the given `acks` (50 records
///    written before, while both replicas were in sync, are the control group);
/// 4. A dies (SIGKILL) before B has copied anything, and B comes back;
/// 5. the controller makes B, the only replica left, the leader;
/// 6. we read what survived and compare it with what was acknowledged.
pub async fn durability_trial(
    bootstrap: &str,
    topic: &str,
    acks: &str,
    count: u32,
) -> Result<Trial> {
    let nodes = tutorial_lab::local_cluster::nodes()?;
    if nodes.len() < 3 {
        bail!(
            "the failure drill needs the three-node cluster (found {} node(s)): \
             cargo xtask kafka down && cargo xtask kafka up --nodes 3",
            nodes.len()
        );
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    create_durability_topic(bootstrap, topic, a.id, b.id).await?;
    let both = |leader: i32, isr: &[i32]| leader == a.id && isr.len() == 2;
    wait_for(
        bootstrap,
        topic,
        Duration::from_secs(30),
        "leader A with A and B in sync",
        both,
    )
    .await?;

    // Records written while both replicas are in sync: every trial keeps them.
    let (safe, _) = produce_and_count_acks(bootstrap, topic, "all", 50).await?;

    let mut faults = tutorial_lab::local_cluster::Faults::new();
    faults.pause(b)?;
    let alone = |_: i32, isr: &[i32]| isr == [a.id];
    wait_for(
        bootstrap,
        topic,
        Duration::from_secs(40),
        "B dropped from the ISR",
        alone,
    )
    .await?;

    let (during, first_error) = produce_numbered(bootstrap, topic, acks, 50, count).await?;
    let acknowledged: BTreeSet<u32> = safe.union(&during).copied().collect();

    faults.kill(a)?;
    faults.resume(b.id)?;
    let b_leads = |leader: i32, _: &[i32]| leader == b.id;
    wait_for(
        bootstrap,
        topic,
        Duration::from_secs(60),
        "B elected leader",
        b_leads,
    )
    .await?;
    let stored = stored_records(bootstrap, topic).await?;

    faults.restart(a.id)?;
    let healed = |_: i32, isr: &[i32]| isr.len() == 2;
    wait_for(
        bootstrap,
        topic,
        Duration::from_secs(60),
        "A back in the ISR",
        healed,
    )
    .await?;

    let lost = acknowledged.difference(&stored).copied().collect();
    Ok(Trial {
        acks: acks.to_string(),
        before: 50,
        sent: count,
        acknowledged,
        first_error,
        stored,
        lost,
    })
}
// ANCHOR_END: durability_trial

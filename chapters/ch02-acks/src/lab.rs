//! The lab of 二.4: the failure drill that shows what each `acks` level
//! promises. It freezes, kills and restarts brokers of the local three-node
//! cluster (`cargo xtask kafka up --nodes 3`) through
//! [`tutorial_lab::local_cluster::Faults`], which heals the cluster again
//! even if the drill fails half-way.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::lesson::{create_durability_topic, produce_and_count_acks, produce_numbered};

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

/// Every record number stored in partition 0 of `topic`, read from the
/// beginning up to the current high watermark.
pub async fn stored_records(bootstrap: &str, topic: &str) -> Result<BTreeSet<u32>> {
    let consumer: StreamConsumer = ClientConfig::new()
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while next < high {
        let Ok(received) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            bail!("read up to offset {next} of {high} within 30 s");
        };
        match received {
            // The cluster just lost a broker: connection errors are expected
            // and retried by librdkafka; keep reading until the deadline.
            Err(error) => tracing::debug!("while reading back: {error}"),
            Ok(message) => {
                next = message.offset() + 1;
                if let Some(seq) = message
                    .payload()
                    .and_then(|p| std::str::from_utf8(p).ok())
                    .and_then(|s| s.parse().ok())
                {
                    stored.insert(seq);
                }
            }
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
    let [a, b, _, ..] = nodes.as_slice() else {
        bail!(
            "the failure drill needs the three-node cluster (found {} node(s)): \
             cargo xtask kafka down && cargo xtask kafka up --nodes 3",
            nodes.len()
        );
    };
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

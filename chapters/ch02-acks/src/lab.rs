//! The lab of 二.4: the failure drill that shows what each `acks` level
//! promises. It freezes, kills and restarts brokers of the local three-node
//! cluster (`cargo xtask kafka up --nodes 3`) through
//! [`tutorial_lab::local_cluster::Faults`], which heals the cluster again
//! even if the drill fails half-way.
//!
//! Two variants, one failover each, `acks=1` and `acks=all` side by side on
//! two topics led by the same broker:
//! - [`Follower::InSyncButBehind`]: the follower freezes for a moment — far
//!   shorter than `replica.lag.time.max.ms` and `broker.session.timeout.ms` —
//!   so it is still in the ISR when the leader dies, and the controller
//!   elects it from the ISR (a clean election);
//! - [`Follower::OutOfSync`]: the follower stays frozen until it leaves the
//!   ISR (the controller fences it when its broker session times out); with
//!   eligible leader replicas (KIP-966, on by default for clusters created by
//!   Kafka 4.1 and later) it is then elected from the ELR.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::Producer;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::lesson::{
    counting_producer, create_durability_topic, produce_and_count_acks, send_numbered,
};

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

/// Where the follower is when the leader dies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follower {
    /// Frozen (SIGSTOP) for about a second while the records are written:
    /// still in the ISR, but without the new records.
    InSyncButBehind,
    /// Frozen until it has left the ISR (fenced by the controller when its
    /// broker session timed out).
    OutOfSync,
}

impl Follower {
    pub fn label(self) -> &'static str {
        match self {
            Follower::InSyncButBehind => "in-sync-but-behind",
            Follower::OutOfSync => "out-of-sync",
        }
    }
}

/// The outcome of one `acks` level in a drill.
#[derive(Debug, Clone)]
pub struct Trial {
    pub acks: String,
    /// Records 0..50, written with acks=all while both replicas were in sync.
    pub before: u32,
    /// Records 50.., written with `acks` while the follower was frozen.
    pub sent: u32,
    /// Records the producer was told were written.
    pub acknowledged: BTreeSet<u32>,
    /// The first error the producer reported, if any.
    pub first_error: Option<String>,
    /// The leader's high watermark just before it died: consumers could read
    /// offsets below it, nothing above.
    pub high_watermark_at_failure: i64,
    /// Records readable after the failover.
    pub stored: BTreeSet<u32>,
    /// Acknowledged but gone: the promise that was broken.
    pub lost: BTreeSet<u32>,
}

/// The outcome of one drill: one failover, both `acks` levels.
#[derive(Debug, Clone)]
pub struct Drill {
    pub follower: Follower,
    /// Broker ids of the leader (A) and the follower (B).
    pub leader: i32,
    pub follower_id: i32,
    /// The ISR of the `acks=1` topic as the cluster reported it just before
    /// the leader was killed.
    pub isr_at_failure: Vec<i32>,
    /// How long B was frozen before A was killed.
    pub frozen_for: Duration,
    /// From A's death to B leading both topics.
    pub failover: Duration,
    pub one: Trial,
    pub all: Trial,
}

impl std::fmt::Display for Drill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:?}: ISR when A ({}) died {:?}; B ({}) frozen {:?}; B led after {:?}",
            self.follower,
            self.leader,
            self.isr_at_failure,
            self.follower_id,
            self.frozen_for,
            self.failover
        )?;
        for t in [&self.one, &self.all] {
            writeln!(
                f,
                "  acks={}: acknowledged {} of {} + {}, high watermark {}, stored {}, lost {} (first error: {:?})",
                t.acks,
                t.acknowledged.len(),
                t.before,
                t.sent,
                t.high_watermark_at_failure,
                t.stored.len(),
                t.lost.len(),
                t.first_error
            )?;
        }
        Ok(())
    }
}

/// Client address of a node of the local cluster.
fn address(node: &tutorial_lab::local_cluster::LocalNode) -> String {
    format!(
        "localhost:{}",
        kafka_layout::ports::client_port(node.id as u8)
    )
}

// ANCHOR: failover_drill
/// The failure drill, on the local three-node cluster:
///
/// 1. two topics (one per `acks` level) with replicas on brokers A (leader)
///    and B, `min.insync.replicas=2`; 50 records written with acks=all while
///    both replicas are in sync are the control group;
/// 2. B freezes (SIGSTOP): for a second (`InSyncButBehind`: it stays in the
///    ISR) or until it has left the ISR (`OutOfSync`);
/// 3. `count` more records are produced to each topic, with acks=1 and with
///    acks=all;
/// 4. A dies (SIGKILL) right after acknowledging, B resumes, and the
///    controller makes B the leader of both topics;
/// 5. A comes back (and copies from B); we read what survived and compare it
///    with what was acknowledged.
pub async fn failover_drill(
    bootstrap: &str,
    prefix: &str,
    follower: Follower,
    count: u32,
) -> Result<Drill> {
    let nodes = tutorial_lab::local_cluster::nodes()?;
    let [a, b, c, ..] = nodes.as_slice() else {
        bail!(
            "the failure drill needs the three-node cluster (found {} node(s)): \
             cargo xtask kafka down && cargo xtask kafka up --nodes 3",
            nodes.len()
        );
    };
    // Metadata is asked of C alone: a frozen B would not answer.
    let probe = address(c);
    let topics = [format!("{prefix}-acks-1"), format!("{prefix}-acks-all")];
    for topic in &topics {
        create_durability_topic(bootstrap, topic, a.id, b.id).await?;
    }
    for topic in &topics {
        let both = |leader: i32, isr: &[i32]| leader == a.id && isr.len() == 2;
        wait_for(
            &probe,
            topic,
            Duration::from_secs(30),
            "A leads, A and B in sync",
            both,
        )
        .await?;
    }
    // The control group, replicated to both: every drill keeps it.
    for topic in &topics {
        let (safe, error) = produce_and_count_acks(bootstrap, topic, "all", 50).await?;
        if safe.len() != 50 {
            bail!("writing the control group to {topic}: {error:?}");
        }
    }
    let one = counting_producer(bootstrap, "1")?;
    let all = counting_producer(bootstrap, "all")?;
    for (producer, topic) in [(&one, &topics[0]), (&all, &topics[1])] {
        producer
            .client()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .with_context(|| format!("the producer's metadata for {topic}"))?;
    }
    // B's last fetch returns with the control group's high watermark within
    // replica.fetch.wait.max.ms (500 ms).
    tokio::time::sleep(Duration::from_secs(1)).await;

    let mut faults = tutorial_lab::local_cluster::Faults::new();
    faults.pause(b)?;
    let frozen = Instant::now();
    match follower {
        // B's fetch that was waiting at A is answered (empty) within
        // replica.fetch.wait.max.ms; after that nothing reaches B.
        Follower::InSyncButBehind => tokio::time::sleep(Duration::from_secs(1)).await,
        // Nothing is written while B is frozen, so B is not behind A's log
        // end and the leader has no reason to drop it (a follower counts as
        // caught up while its log end equals the leader's); the controller
        // fences B when its broker session times out (broker.session.timeout.ms,
        // 9 s) and removes it from the ISR.
        Follower::OutOfSync => {
            for topic in &topics {
                let alone = |_: i32, isr: &[i32]| isr == [a.id];
                let limit = Duration::from_secs(40);
                wait_for(&probe, topic, limit, "B dropped from the ISR", alone).await?;
                // A must know it too before the writes arrive, or it would
                // hold acks=all writes for B instead of refusing them.
                let at_a = address(a);
                wait_for(&at_a, topic, limit, "A sees B out of the ISR", alone).await?;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    let (producer, topic) = (all.clone(), topics[1].clone());
    let with_all = tokio::spawn(async move { send_numbered(&producer, &topic, 50, count).await });
    let (one_acked, one_error) = send_numbered(&one, &topics[0], 50, count).await;
    let with_all = match follower {
        // acks=all is refused at once (NOT_ENOUGH_REPLICAS): wait for the answer.
        Follower::OutOfSync => Ok(with_all.await?),
        // acks=all waits for B, which does not fetch: let the requests reach A.
        Follower::InSyncButBehind => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Err(with_all)
        }
    };
    let (_, isr_at_failure) =
        leader_and_isr(&probe, &topics[0]).context("the ISR just before A dies")?;
    // On its own connection: the acks=all producer's connection to A is busy
    // with a produce request that waits for B (a broker answers a
    // connection's requests in order).
    let watermarks: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &probe)
        .create()?;
    let mut high = [0i64; 2];
    for (i, topic) in topics.iter().enumerate() {
        high[i] = watermarks
            .fetch_watermarks(topic, 0, Duration::from_secs(2))
            .with_context(|| format!("the high watermark of {topic} just before A dies"))?
            .1;
    }
    let frozen_for = frozen.elapsed();

    faults.kill(a)?;
    let died = Instant::now();
    faults.resume(b.id)?;
    for topic in &topics {
        let b_leads = |leader: i32, _: &[i32]| leader == b.id;
        wait_for(
            bootstrap,
            topic,
            Duration::from_secs(60),
            "B elected leader",
            b_leads,
        )
        .await?;
    }
    let failover = died.elapsed();
    let (all_acked, all_error) = match with_all {
        Ok(result) => result,
        Err(pending) => pending.await?,
    };

    faults.restart(a.id)?;
    for topic in &topics {
        let healed = |_: i32, isr: &[i32]| isr.len() == 2;
        wait_for(
            bootstrap,
            topic,
            Duration::from_secs(90),
            "A back in the ISR",
            healed,
        )
        .await?;
    }
    let mut trials = Vec::new();
    for (i, (acks, acked, error)) in [("1", one_acked, one_error), ("all", all_acked, all_error)]
        .into_iter()
        .enumerate()
    {
        let stored = stored_records(bootstrap, &topics[i]).await?;
        let acknowledged: BTreeSet<u32> = (0..50).chain(acked).collect();
        trials.push(Trial {
            acks: acks.to_string(),
            before: 50,
            sent: count,
            lost: acknowledged.difference(&stored).copied().collect(),
            acknowledged,
            first_error: error,
            high_watermark_at_failure: high[i],
            stored,
        });
    }
    let [one, all] = <[Trial; 2]>::try_from(trials).expect("two trials");
    Ok(Drill {
        follower,
        leader: a.id,
        follower_id: b.id,
        isr_at_failure,
        frozen_for,
        failover,
        one,
        all,
    })
}
// ANCHOR_END: failover_drill

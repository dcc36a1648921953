//! The cost of exactly-once: the lesson's read-process-write loop over the
//! same input, at-least-once against exactly-once, at two commit
//! intervals, measured in one run. A run ends when the group's committed
//! offsets cover the whole input, so the time includes the last commit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::BaseProducer;
use rdkafka::{Offset, TopicPartitionList};
use tutorial_support::Cluster;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};

use super::audit;
use crate::lesson::batching::Options;
use crate::lesson::exactly_once::{self, Pipeline};
use crate::lesson::{at_least_once, isolation, producer};

/// One measured run.
#[derive(Debug, Clone)]
pub struct Run {
    pub exactly_once: bool,
    pub commit_every: Duration,
    pub records: u64,
    pub seconds: f64,
    pub commits: u64,
}

impl Run {
    pub fn per_second(&self) -> f64 {
        self.records as f64 / self.seconds.max(f64::EPSILON)
    }
}

/// Runs the four variants over `records` input records (2 partitions),
/// `rounds` times, interleaved (so a noisy neighbour hits every variant).
pub async fn run(cluster: &Cluster, records: usize, rounds: usize) -> Result<Vec<Run>> {
    let input = unique_name("ch04-txn-bench-in");
    ensure_topic(cluster, &input, 2, 1, &[]).await?;
    let bootstrap = cluster.bootstrap_servers().to_string();
    {
        let (bootstrap, input) = (bootstrap.clone(), input.clone());
        tokio::task::spawn_blocking(move || {
            audit::write_input(&bootstrap, &input, &audit::inputs(records))
        })
        .await??;
    }
    let mut runs = Vec::new();
    for (_, interval, exactly_once) in (0..rounds).flat_map(|round| {
        [
            (round, Duration::from_millis(100), false),
            (round, Duration::from_millis(100), true),
            (round, Duration::from_secs(1), false),
            (round, Duration::from_secs(1), true),
        ]
    }) {
        {
            let output = unique_name("ch04-txn-bench-out");
            ensure_topic(cluster, &output, 2, 1, &[]).await?;
            let (b, i, o) = (bootstrap.clone(), input.clone(), output.clone());
            let run = tokio::task::spawn_blocking(move || {
                one(&b, &i, &o, records as u64, exactly_once, interval)
            })
            .await??;
            runs.push(run);
            delete_topic(cluster, &output).await?;
        }
    }
    delete_topic(cluster, &input).await?;
    Ok(runs)
}

fn one(
    bootstrap: &str,
    input: &str,
    output: &str,
    records: u64,
    exactly_once: bool,
    commit_every: Duration,
) -> Result<Run> {
    let group = unique_name("ch04-txn-bench");
    let options = Options {
        output: output.to_string(),
        commit_every,
        max_batch: u64::MAX,
        idle_exit: None,
    };
    let stop = AtomicBool::new(false);
    let config = exactly_once::consumer_config(bootstrap, &group);
    let started = Instant::now();
    let totals = std::thread::scope(|scope| {
        // The watcher ends the run once the committed offsets cover the input.
        scope.spawn(|| watch_committed(bootstrap, &group, input, records, &stop));
        if exactly_once {
            let id = unique_name("ch04-txn-bench");
            let pipeline = Pipeline::new(producer::create(&producer::producer_config(
                bootstrap, &id,
            ))?);
            let consumer: BaseConsumer<Pipeline> = config.create_with_context(pipeline)?;
            consumer.subscribe(&[input])?;
            exactly_once::run(&consumer, &options, &stop, |_| {})
        } else {
            let producer: BaseProducer = at_least_once::producer_config(bootstrap).create()?;
            let consumer: BaseConsumer = config.create()?;
            consumer.subscribe(&[input])?;
            at_least_once::run(&consumer, &producer, &options, &stop, |_| {})
        }
    })?;
    let seconds = started.elapsed().as_secs_f64();
    if totals.records < records {
        bail!(
            "the run stopped after {} of {records} records",
            totals.records
        );
    }
    Ok(Run {
        exactly_once,
        commit_every,
        records: totals.records,
        seconds,
        commits: totals.transactions,
    })
}

fn watch_committed(bootstrap: &str, group: &str, topic: &str, records: u64, stop: &AtomicBool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let client: Option<BaseConsumer> = isolation::reader(bootstrap, "read_committed")
        .set("group.id", group)
        .create()
        .ok();
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(topic, 0);
    partitions.add_partition(topic, 1);
    while let Some(client) = &client
        && Instant::now() < deadline
    {
        let committed: i64 = client
            .committed_offsets(partitions.clone(), isolation::TIMEOUT)
            .map(|list| {
                list.elements()
                    .iter()
                    .filter_map(|p| match p.offset() {
                        Offset::Offset(offset) => Some(offset),
                        _ => None,
                    })
                    .sum()
            })
            .unwrap_or(0);
        if committed >= records as i64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
}

/// The median records/s of one variant over the rounds.
pub fn median(runs: &[Run], exactly_once: bool, interval: Duration) -> Option<f64> {
    let mut rates: Vec<f64> = runs
        .iter()
        .filter(|r| r.exactly_once == exactly_once && r.commit_every == interval)
        .map(Run::per_second)
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.get(rates.len() / 2).copied()
}

/// The ratio of exactly-once to at-least-once median throughput at `interval`.
pub fn ratio(runs: &[Run], interval: Duration) -> Option<f64> {
    Some(median(runs, true, interval)? / median(runs, false, interval)?)
}

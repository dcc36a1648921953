//! 一、Kafka 核心架构速览 — the architecture, live.
//!
//! Run: `cargo run -p ch01-architecture` (a broker on localhost:9092:
//! `cargo xtask kafka up`), or with `KAFKA_BROKERS=mock` to try it on
//! librdkafka's in-process mock cluster.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use ch01_architecture::lab::{self, Created, Group, check_order, first_offsets, produce_events};
use ch01_architecture::lesson::{
    TopicOutcome, describe_cluster, describe_partitions, member_config, produce_keyed,
    producer_config, read_back,
};
use clap::Parser;
use tutorial_support::topics::{delete_topic, unique_name};
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective, summary};

/// 一、Kafka 核心架构速览: brokers, topics, partitions, offsets and consumer groups, observed on a live cluster
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Topic for the partition and ordering demo (created if missing, kept afterwards)
    #[arg(long, default_value = "ch01-architecture")]
    topic: String,
    /// Number of partitions of the demo topics
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=64))]
    partitions: i32,
    /// Replication factor [default: 3 if the cluster has 3 or more brokers, else 1]
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=16))]
    replication_factor: Option<i32>,
}

/// The keys of the ordering demo; each gets `RECORDS_PER_KEY` records.
const KEYS: [&str; 6] = ["alice", "bob", "erin", "grace", "mallory", "sybil"];
const RECORDS_PER_KEY: u32 = 5;
/// Records produced for the consumer-group demo.
const GROUP_RECORDS: usize = 30;

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    let replication = args
        .replication_factor
        .unwrap_or(if cluster.brokers().len() >= 3 { 3 } else { 1 });
    show_brokers(&cluster)?;
    show_topic(&cluster, &args.topic, args.partitions, replication).await?;
    show_order(&cluster, &args.topic).await?;
    show_groups(&cluster, args.partitions, replication).await?;
    Ok(())
}

/// ① The cluster: brokers, and the controller quorum clients never see.
fn show_brokers(cluster: &Cluster) -> Result<()> {
    let view = describe_cluster(cluster.bootstrap_servers())?;
    println!("① Cluster (asked: {})", cluster.bootstrap_servers());
    println!(
        "  cluster id: {}",
        view.cluster_id.as_deref().unwrap_or("(not reported)")
    );
    for (id, address) in &view.brokers {
        println!("  broker {id} at {address}");
    }
    println!(
        "  controller: in KRaft mode a quorum of controllers owns the metadata; clients never\n\
         \x20 talk to it (the 'controller id' in a metadata response is just a random live broker).\n\
         \x20 See the quorum with `cargo xtask kafka status`."
    );
    summary(
        "cluster",
        &[
            ("brokers", view.brokers.len().to_string()),
            ("mock", cluster.is_mock().to_string()),
        ],
    );
    Ok(())
}

/// ② A topic is a name for a set of partitions; each partition has one
/// leader and, with replication, followers that copy it.
async fn show_topic(
    cluster: &Cluster,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> Result<()> {
    let created = lab::create_topic(cluster, topic, partitions, replication).await?;
    println!("\n② Topic {topic}");
    let outcome = match created {
        Created::Admin(TopicOutcome::Created) => {
            println!(
                "  created with {partitions} partition(s), replication factor {replication} (Admin API CreateTopics)"
            );
            "created"
        }
        Created::Admin(TopicOutcome::AlreadyExisted) => {
            println!(
                "  already existed: reusing it (its partition count and replication factor are what it was created with)"
            );
            "already-existed"
        }
        Created::OnMock => {
            println!(
                "  created with the mock cluster's own API: the mock does not implement CreateTopics"
            );
            "created-on-mock"
        }
    };
    let described = describe_partitions(cluster.bootstrap_servers(), topic)?;
    for p in &described {
        println!(
            "  partition {}: leader {}, replicas {:?}, in-sync {:?}, offsets [{}, {})",
            p.id, p.leader, p.replicas, p.isr, p.low_watermark, p.high_watermark
        );
    }
    let leaders: BTreeSet<i32> = described.iter().map(|p| p.leader).collect();
    summary(
        "topic",
        &[
            ("outcome", outcome.to_string()),
            ("partitions", described.len().to_string()),
            (
                "replicas",
                described
                    .iter()
                    .map(|p| p.replicas.len())
                    .max()
                    .unwrap_or(0)
                    .to_string(),
            ),
            ("distinct_leaders", leaders.len().to_string()),
        ],
    );
    Ok(())
}

/// ③ Keys choose partitions; order holds per partition, offsets are
/// per-partition counters, and there is no order across partitions.
async fn show_order(cluster: &Cluster, topic: &str) -> Result<()> {
    println!();
    print_effective(
        "③ Producer settings that decide where and in what order records land:",
        &producer_config(cluster.bootstrap_servers()),
        &["partitioner", "enable.idempotence", "acks"],
    )?;
    let sent = produce_keyed(cluster.bootstrap_servers(), topic, &KEYS, RECORDS_PER_KEY).await?;
    println!(
        "  produced {} records: {} keys × {RECORDS_PER_KEY}, interleaved (alice#0, bob#0, …, alice#1, …)",
        sent.len(),
        KEYS.len()
    );
    let start = first_offsets(&sent);
    let received = read_back(cluster.bootstrap_servers(), topic, &start, sent.len()).await?;
    let mut lines: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for r in &received {
        lines
            .entry(r.partition)
            .or_default()
            .push(format!("{}:{}", r.offset, r.payload));
    }
    for (partition, records) in &lines {
        let shown = records
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join(" ");
        let more = records.len().saturating_sub(8);
        let tail = if more > 0 {
            format!(" … (+{more})")
        } else {
            String::new()
        };
        println!("  partition {partition} (offset:key#seq): {shown}{tail}");
    }
    let report = check_order(&sent, &received)?;
    println!(
        "  each key stayed in one partition: {}",
        report
            .partition_of_key
            .iter()
            .map(|(k, p)| format!("{k}→{p}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  per-key order kept: {}; offsets consecutive within each partition: {}",
        yes(report.per_key_order_kept),
        yes(report.offsets_consecutive)
    );
    println!(
        "  one consumer reading all partitions saw the global send order: {} — Kafka orders records within a partition only",
        yes(report.global_order_kept)
    );
    let partitions_used: BTreeSet<i32> = report.partition_of_key.values().copied().collect();
    summary(
        "order",
        &[
            ("sent", sent.len().to_string()),
            ("received", received.len().to_string()),
            ("partitions_used", partitions_used.len().to_string()),
            ("per_key_order_kept", report.per_key_order_kept.to_string()),
            (
                "offsets_consecutive",
                report.offsets_consecutive.to_string(),
            ),
            ("global_order_kept", report.global_order_kept.to_string()),
        ],
    );
    Ok(())
}

/// ④ Consumer groups: within a group each partition has one owner; every
/// group gets every record.
async fn show_groups(cluster: &Cluster, partitions: i32, replication: i32) -> Result<()> {
    // A fresh, empty topic, so no record is consumed while the groups form.
    let topic = unique_name("ch01-groups");
    lab::create_topic(cluster, &topic, partitions, replication).await?;
    // The mock cluster's coordinator waits up to session.timeout.ms - 1 s
    // for the members of every rebalance after the first one to rejoin
    // (`rd_kafka_mock_cgrp_classic_rebalance`, rdkafka_mock_cgrp.c): 44 s
    // with librdkafka's default of 45 s, and members joining one by one on
    // a busy machine cause several. A short session keeps each wait at 5 s.
    let (settle, mock_settings): (u64, &[(&str, &str)]) = if cluster.is_mock() {
        println!(
            "\n(mock cluster: the group members below use session.timeout.ms=6000; the mock waits up to that, less 1 s, in each rebalance)"
        );
        (90, &[("session.timeout.ms", "6000")])
    } else {
        (20, &[])
    };
    let settle = Duration::from_secs(settle);
    let bootstrap = cluster.bootstrap_servers();

    let pair = Group::join_with(
        bootstrap,
        &topic,
        &unique_name("ch01-pair"),
        2,
        mock_settings,
    )?;
    let pair_shares = pair.wait_for_assignment(partitions, settle).await?;
    let crowd_size = partitions as usize + 1;
    let crowd = Group::join_with(
        bootstrap,
        &topic,
        &unique_name("ch01-crowd"),
        crowd_size,
        mock_settings,
    )?;
    let crowd_shares = crowd.wait_for_assignment(partitions, settle).await?;

    println!("\n④ Consumer groups on {topic} ({partitions} partitions)");
    print_effective(
        "  member settings:",
        &member_config(bootstrap, "any-group"),
        &[
            "partition.assignment.strategy",
            "group.protocol",
            "auto.offset.reset",
            "enable.auto.commit",
        ],
    )?;
    print_shares("group 'pair' (2 members)", &pair_shares);
    print_shares(
        &format!("group 'crowd' ({crowd_size} members)"),
        &crowd_shares,
    );

    produce_events(bootstrap, &topic, GROUP_RECORDS).await?;
    println!("  produced {GROUP_RECORDS} records");
    let limit = Duration::from_secs(30);
    let pair_got = pair.consume(GROUP_RECORDS, limit).await?;
    let crowd_got = crowd.consume(GROUP_RECORDS, limit).await?;
    print_counts("pair", &pair_got);
    print_counts("crowd", &crowd_got);
    println!(
        "  → within a group the records were shared out (queue); each group got all {GROUP_RECORDS} (publish-subscribe)."
    );
    let idle: Vec<usize> = crowd_shares
        .iter()
        .enumerate()
        .filter(|(_, share)| share.is_empty())
        .map(|(i, _)| i)
        .collect();
    let idle_received: usize = idle
        .iter()
        .filter_map(|&i| crowd_got.get(i))
        .map(Vec::len)
        .sum();
    summary(
        "groups",
        &[
            ("records", GROUP_RECORDS.to_string()),
            ("pair_members", pair_shares.len().to_string()),
            ("pair_received", total(&pair_got).to_string()),
            ("crowd_members", crowd_shares.len().to_string()),
            ("crowd_received", total(&crowd_got).to_string()),
            ("crowd_idle_members", idle.len().to_string()),
            ("crowd_idle_received", idle_received.to_string()),
        ],
    );
    pair.leave().await?;
    crowd.leave().await?;
    delete_topic(cluster, &topic).await?;
    Ok(())
}

fn total(received: &[Vec<(i32, i64)>]) -> usize {
    received.iter().map(Vec::len).sum()
}

fn print_shares(label: &str, shares: &[Vec<i32>]) {
    let described: Vec<String> = shares
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if s.is_empty() {
                format!("member {i}: nothing (idle)")
            } else {
                format!("member {i}: {s:?}")
            }
        })
        .collect();
    println!("  {label}: {}", described.join(", "));
}

fn print_counts(label: &str, received: &[Vec<(i32, i64)>]) {
    let counts: Vec<String> = received
        .iter()
        .enumerate()
        .map(|(i, r)| format!("member {i}: {}", r.len()))
        .collect();
    println!(
        "  group '{label}' received {}: {}",
        total(received),
        counts.join(", ")
    );
}

fn yes(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

//! 三.3 消费者组与 Rebalance — the showcase.
//!
//! Run: `cargo run -p ch03-rebalance` against a broker on localhost:9092.
//! For each protocol: two members share six partitions, a third joins, then
//! leaves; the callbacks show what each rebalance took away from whom.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use ch03_rebalance::lab::{Group, parse_protocol, produce, step_report};
use ch03_rebalance::lesson::{Protocol, member_config};
use clap::Parser;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective, summary};

/// 三.3 消费者组与 Rebalance: eager vs cooperative-sticky vs KIP-848, static membership
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Only this protocol: eager, cooperative or consumer (default: all three)
    #[arg(long, value_parser = parse_protocol)]
    protocol: Option<Protocol>,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Run one group member until killed, printing what it owns and processes
    Member {
        #[command(flatten)]
        brokers: BrokerArgs,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        group: String,
        /// eager, cooperative or consumer
        #[arg(long, value_parser = parse_protocol, default_value = "cooperative")]
        protocol: Protocol,
    },
}

pub const PARTITIONS: i32 = 6;
const QUIET: Duration = Duration::from_secs(2);
const LIMIT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    if let Some(Sub::Member {
        brokers,
        topic,
        group,
        protocol,
    }) = &args.command
    {
        return member(brokers, topic, group, *protocol).await;
    }
    let cluster = args.brokers.connect()?;
    let protocols: Vec<Protocol> = args.protocol.map_or(Protocol::ALL.to_vec(), |p| vec![p]);
    for protocol in protocols {
        join_and_leave(&cluster, protocol).await?;
    }
    Ok(())
}

/// A lone member in its own process (the crash test kills it).
async fn member(brokers: &BrokerArgs, topic: &str, group: &str, protocol: Protocol) -> Result<()> {
    let cluster = brokers.connect()?;
    let mut group = Group::new(cluster.bootstrap_servers(), topic, group, protocol);
    group.join("child", None)?;
    let (mut printed, mut owned) = (0, BTreeSet::new());
    loop {
        group.run_for(Duration::from_millis(20)).await?;
        let member = group.members.first().context("the member is gone")?;
        let processed = member.processed();
        for (p, o) in processed.iter().skip(printed) {
            println!("processed {p}:{o}");
        }
        printed = processed.len();
        if member.owned() != owned {
            owned = member.owned();
            println!("owns {owned:?}");
        }
    }
}

fn show(assignment: &BTreeMap<String, BTreeSet<i32>>) -> String {
    assignment
        .iter()
        .map(|(m, ps)| format!("{m}:{ps:?}"))
        .collect::<Vec<_>>()
        .join("  ")
}

/// A summary step name for a protocol: `eager`, `cooperative`, `consumer`.
fn short(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Eager => "eager",
        Protocol::Cooperative => "cooperative",
        Protocol::Consumer => "consumer",
    }
}

/// Two members, a third joins, then leaves.
async fn join_and_leave(cluster: &Cluster, protocol: Protocol) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let topic = unique_name("ch03-rebalance");
    ensure_topic(cluster, &topic, PARTITIONS, 1, &[]).await?;
    produce(bootstrap, &topic, 0, 600).await?;
    println!("\n=== {} ===", protocol.name());
    print_effective(
        "member settings:",
        &member_config(bootstrap, "example", protocol, None),
        &[
            "group.protocol",
            "partition.assignment.strategy",
            "session.timeout.ms",
        ],
    )?;
    let mut group = Group::new(bootstrap, &topic, &unique_name("ch03-g"), protocol);
    group.join("a", None)?;
    group.join("b", None)?;
    group.settle(PARTITIONS, QUIET, LIMIT).await?;
    println!("  start:       {}", show(&group.assignment()));

    for (label, step, joins) in [("c joins", "join", true), ("c leaves", "leave", false)] {
        let before = group.assignment();
        let mark = group.event_count();
        if joins {
            group.join("c", None)?;
        } else {
            group.leave("c").await?;
        }
        group.settle(PARTITIONS, QUIET, LIMIT).await?;
        let after = group.assignment();
        let events = group.events_since(mark);
        let report = step_report(&before, &after, &events);
        println!("  {label:<10}   {}", show(&after));
        println!(
            "               moved {} partition(s); revoked and handed straight back: {}; pause {:.0} ms",
            report.moved,
            report.revoked_and_returned,
            report.pause.as_secs_f64() * 1000.0
        );
        for e in &events {
            println!(
                "                 {:>6.0} ms  {} {} {:?}",
                e.at.as_secs_f64() * 1000.0,
                e.member,
                if e.assigned { "assigned" } else { "revoked " },
                e.partitions
            );
        }
        summary(
            &format!("{}-{step}", short(protocol)),
            &[
                ("moved", report.moved.to_string()),
                (
                    "revoked_and_returned",
                    report.revoked_and_returned.to_string(),
                ),
                ("pause_ms", report.pause.as_millis().to_string()),
            ],
        );
    }
    // Members leave (committing) before their topic disappears.
    group.close().await?;
    delete_topic(cluster, &topic).await?;
    Ok(())
}

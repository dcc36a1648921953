//! 三.3 消费者组与 Rebalance.
//!
//! Run: `cargo run -p ch03-rebalance` against a broker on localhost:9092.
//! For each protocol: two members share six partitions, a third joins, then
//! leaves; the callbacks show what each rebalance took away from whom.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use ch03_rebalance::{Group, Protocol, member_config, produce, step_report};
use clap::Parser;
use tutorial_support::topics::unique_name;
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective};

/// 三.3 消费者组与 Rebalance: eager vs cooperative-sticky vs KIP-848, static membership
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Only this protocol (default: all three)
    #[arg(long, value_enum)]
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
        #[arg(long, value_enum, default_value_t = Protocol::Cooperative)]
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
    let (mut printed, mut owned) = (0, Default::default());
    loop {
        group.run_for(Duration::from_millis(20)).await?;
        let member = &group.members[0];
        for (p, o) in &member.processed[printed..] {
            println!("processed {p}:{o}");
        }
        printed = member.processed.len();
        if member.owned() != owned {
            owned = member.owned();
            println!("owns {owned:?}");
        }
    }
}

fn show(assignment: &BTreeMap<String, std::collections::BTreeSet<i32>>) -> String {
    assignment
        .iter()
        .map(|(m, ps)| format!("{m}:{ps:?}"))
        .collect::<Vec<_>>()
        .join("  ")
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

    for (label, step) in [("c joins", 0), ("c leaves", 1)] {
        let before = group.assignment();
        let mark = group.log.len();
        if step == 0 {
            group.join("c", None)?;
        } else {
            group.leave("c").await?;
        }
        group.settle(PARTITIONS, QUIET, LIMIT).await?;
        let after = group.assignment();
        let report = step_report(&before, &after, &group.log.since(mark));
        println!("  {label:<10}   {}", show(&after));
        println!(
            "               moved {} partition(s); revoked and handed straight back: {}; pause {:.0} ms",
            report.moved,
            report.revoked_and_returned,
            report.pause.as_secs_f64() * 1000.0
        );
        for e in group.log.since(mark) {
            println!(
                "                 {:>6.0} ms  {} {} {:?}",
                e.at.as_secs_f64() * 1000.0,
                e.member,
                if e.assigned { "assigned" } else { "revoked " },
                e.partitions
            );
        }
    }
    // Members leave (committing) before their topic disappears.
    drop(group);
    delete_topic(cluster, &topic).await?;
    Ok(())
}

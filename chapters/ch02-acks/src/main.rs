//! 二.4 acks：确认等级与数据可靠性 — the showcase: the cost of each level
//! (lesson), then, with `--failure-drill`, the lab's drill.
//!
//! Needs the three-node cluster: `cargo xtask kafka up --nodes 3`.
//! `cargo run -p ch02-acks` measures acks=0/1/all; add `--failure-drill` to
//! watch acks=1 lose acknowledged records while acks=all loses none (it
//! pauses, kills and restarts brokers of the local cluster).

use std::process::ExitCode;

use anyhow::{Result, bail};
use ch02_acks::lab::{Drill, Follower, Trial, failover_drill};
use ch02_acks::{ACKS, measure, producer_config, send_and_report_offset};
use clap::Parser;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective, summary};

/// 二.4 acks：确认等级与数据可靠性 — measure acks=0/1/all on three brokers, and break them on purpose
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Records per acks setting in the measurement
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    /// Record size in bytes
    #[arg(long, default_value_t = 1000)]
    record_size: usize,
    /// Also run the failure drill: pause, kill and restart brokers of the local
    /// cluster started by `cargo xtask kafka up --nodes 3` (about a minute)
    #[arg(long)]
    failure_drill: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    print_effective(
        "Producer settings compared below (acks varies):",
        &producer_config(cluster.bootstrap_servers(), "all"),
        &[
            "acks",
            "enable.idempotence",
            "linger.ms",
            "message.timeout.ms",
        ],
    )?;
    cluster.require_real("acks semantics, which need real replication")?;
    if let Err(error) = cluster.require_brokers(3) {
        bail!(
            "{error}\nThen run with --brokers {}",
            kafka_layout::ports::bootstrap(3)
        );
    }
    compare_costs(&cluster, args).await?;
    if args.failure_drill {
        failure_drill(&cluster).await?;
    } else {
        println!(
            "\nRun again with --failure-drill to see what each setting promises when a broker fails."
        );
    }
    Ok(())
}

/// ① What each level costs, measured in one run on the same topic.
async fn compare_costs(cluster: &Cluster, args: &Args) -> Result<()> {
    let topic = unique_name("ch02-acks-cost");
    ensure_topic(cluster, &topic, 3, 3, &[("min.insync.replicas", "2")]).await?;
    let bootstrap = cluster.bootstrap_servers();
    println!(
        "\n① {} records of {} bytes per setting; topic with 3 partitions, replication factor 3, min.insync.replicas=2",
        args.records, args.record_size
    );
    println!(
        "  (records/s: a flood of records; latency: 300 records sent one at a time, send → acknowledgement)"
    );
    println!("  acks  offset known   records/s   p50 latency   p99 latency   failed");
    let mut rows = Vec::new();
    for acks in ACKS {
        let offset = send_and_report_offset(bootstrap, &topic, acks).await?;
        let m = measure(bootstrap, &topic, acks, args.records, args.record_size).await?;
        println!(
            "  {:<4}  {:<12}  {:>10.0}   {:>8.3} ms   {:>8.3} ms   {:>6}",
            m.acks,
            if offset >= 0 {
                format!("yes ({offset})")
            } else {
                format!("no ({offset})")
            },
            m.records_per_second,
            m.p50.as_secs_f64() * 1000.0,
            m.p99.as_secs_f64() * 1000.0,
            m.failed
        );
        rows.push((offset, m));
    }
    println!(
        "  acks=0: no response, so no offset and no error ever comes back; acks=1: the leader's write;\n  \
         acks=all: the write of every in-sync replica (at least min.insync.replicas of them)."
    );
    for (offset, m) in &rows {
        summary(
            &format!("cost-acks-{}", m.acks),
            &[
                ("offset", offset.to_string()),
                ("records", m.records.to_string()),
                ("failed", m.failed.to_string()),
                ("records_per_second", format!("{:.0}", m.records_per_second)),
                ("p50_ms", format!("{:.3}", m.p50.as_secs_f64() * 1000.0)),
                ("p99_ms", format!("{:.3}", m.p99.as_secs_f64() * 1000.0)),
            ],
        );
    }
    delete_topic(cluster, &topic).await?;
    Ok(())
}

/// ② The failure drills: one failover with the follower in the ISR but
/// behind, one with the follower out of the ISR; acks=1 and acks=all each.
async fn failure_drill(cluster: &Cluster) -> Result<()> {
    println!(
        "\n② Failure drills: replicas on brokers A and B, min.insync.replicas=2, unclean leader election off.\n  \
         50 records are written with acks=all while A and B are in sync; B freezes; 200 more are written\n  \
         with acks=1 and with acks=all (two topics, one failover); A is killed right after acknowledging;\n  \
         B resumes and becomes leader; A comes back. What was acknowledged but is gone?"
    );
    for follower in [Follower::InSyncButBehind, Follower::OutOfSync] {
        let prefix = unique_name(&format!("ch02-acks-{}", follower.label()));
        let drill = failover_drill(cluster.bootstrap_servers(), &prefix, follower, 200).await?;
        print_drill(&drill);
        for trial in [&drill.one, &drill.all] {
            delete_topic(cluster, &format!("{prefix}-acks-{}", trial.acks)).await?;
        }
    }
    Ok(())
}

fn print_drill(drill: &Drill) {
    let how = match drill.follower {
        Follower::InSyncButBehind => "B in the ISR but behind",
        Follower::OutOfSync => "B out of the ISR",
    };
    println!(
        "  {how}: B frozen {:.1} s; ISR when A died: {:?}; B led both topics {:.1} s after A died",
        drill.frozen_for.as_secs_f64(),
        drill.isr_at_failure,
        drill.failover.as_secs_f64()
    );
    for trial in [&drill.one, &drill.all] {
        print_trial(drill, trial);
    }
}

fn print_trial(drill: &Drill, trial: &Trial) {
    let during = trial
        .acknowledged
        .iter()
        .filter(|s| **s >= trial.before)
        .count();
    println!(
        "    acks={:<3}: {} of {} acknowledged (high watermark then: {}); \
         after failover {} stored; acknowledged but LOST: {}",
        trial.acks,
        during,
        trial.sent,
        trial.high_watermark_at_failure,
        trial.stored.len(),
        trial.lost.len()
    );
    if let Some(error) = &trial.first_error {
        println!("              the producer was told: {error}");
    }
    let isr: Vec<String> = drill.isr_at_failure.iter().map(i32::to_string).collect();
    summary(
        &format!("drill-{}-acks-{}", drill.follower.label(), trial.acks),
        &[
            ("isr_at_failure", isr.join(",")),
            ("frozen_ms", drill.frozen_for.as_millis().to_string()),
            ("failover_ms", drill.failover.as_millis().to_string()),
            ("before", trial.before.to_string()),
            ("sent", trial.sent.to_string()),
            ("acknowledged_during", during.to_string()),
            (
                "high_watermark",
                trial.high_watermark_at_failure.to_string(),
            ),
            ("stored", trial.stored.len().to_string()),
            ("lost", trial.lost.len().to_string()),
        ],
    );
}

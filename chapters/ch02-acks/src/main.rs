//! 二.4 acks：确认等级与数据可靠性 — the showcase: the cost of each level
//! (lesson), then, with `--failure-drill`, the lab's drill.
//!
//! Needs the three-node cluster: `cargo xtask kafka up --nodes 3`.
//! `cargo run -p ch02-acks` measures acks=0/1/all; add `--failure-drill` to
//! watch acks=1 lose acknowledged records while acks=all loses none (it
//! pauses, kills and restarts brokers of the local cluster).

use std::process::ExitCode;

use anyhow::{Result, bail};
use ch02_acks::lab::{Trial, durability_trial};
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

/// ② The failure drill, once per setting that returns acknowledgements.
async fn failure_drill(cluster: &Cluster) -> Result<()> {
    println!(
        "\n② Failure drill: replicas on brokers A and B, min.insync.replicas=2. B freezes and leaves the ISR;\n  \
         200 records are produced; A is killed; B becomes leader; what was acknowledged but is gone?"
    );
    for acks in ["1", "all"] {
        let topic = unique_name(&format!("ch02-acks-drill-{acks}"));
        let trial = durability_trial(cluster.bootstrap_servers(), &topic, acks, 200).await?;
        print_trial(&trial);
        delete_topic(cluster, &topic).await?;
    }
    Ok(())
}

fn print_trial(trial: &Trial) {
    let during = trial
        .acknowledged
        .iter()
        .filter(|s| **s >= trial.before)
        .count();
    println!(
        "  acks={:<3}: before the failure {} acknowledged; during it {} of {} acknowledged; \
         after failover {} stored; acknowledged but LOST: {}",
        trial.acks,
        trial.before,
        during,
        trial.sent,
        trial.stored.len(),
        trial.lost.len()
    );
    if let Some(error) = &trial.first_error {
        println!("            the producer was told: {error}");
    }
    summary(
        &format!("drill-acks-{}", trial.acks),
        &[
            ("before", trial.before.to_string()),
            ("sent", trial.sent.to_string()),
            ("acknowledged_during", during.to_string()),
            ("stored", trial.stored.len().to_string()),
            ("lost", trial.lost.len().to_string()),
        ],
    );
}

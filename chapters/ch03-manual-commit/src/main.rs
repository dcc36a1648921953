//! 三.2 位移管理：自动提交与手动提交 — the showcase.
//!
//! `cargo run -p ch03-manual-commit` produces 1000 records, then for each of
//! three offset strategies starts a consumer (a child process), kills it
//! with SIGKILL in the middle of its work, lets a fresh consumer of the same
//! group take over, and counts what was lost and what was processed twice.
//! Then it measures what each strategy costs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use ch03_manual_commit::lab::{
    CommitCounter, Drill, Mode, Reader, SETTINGS, Sink, Until, consumer_config, crash_drill,
    produce, run_worker, subscribe,
};
use clap::{Args as ClapArgs, Parser, Subcommand};
use rdkafka::consumer::Consumer;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};
use tutorial_support::{
    BrokerArgs, Cluster, init_tracing, print_effective, shutdown_token, summary,
};

/// 三.2 位移管理: crash a consumer on purpose under three offset strategies and count lost and repeated records
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Step>,
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Records in the crash drills
    #[arg(long, default_value_t = 1000)]
    records: i64,
    /// The offset at which each consumer is killed
    #[arg(long, default_value_t = 500)]
    crash_at: i64,
    /// Records in the cost comparison
    #[arg(long, default_value_t = 20_000)]
    cost_records: i64,
}

#[derive(Subcommand)]
enum Step {
    /// Run one consumer until Ctrl-C/SIGTERM (commits what it processed, then leaves)
    Worker(WorkerArgs),
}

#[derive(ClapArgs)]
struct WorkerArgs {
    #[command(flatten)]
    brokers: BrokerArgs,
    #[arg(long)]
    topic: String,
    #[arg(long)]
    group: String,
    #[arg(long, value_enum, default_value_t = Mode::StoreAfter)]
    mode: Mode,
    /// File the "processing" appends `partition:offset:payload` lines to
    #[arg(long)]
    sink: PathBuf,
    /// Hang (without processing) when this offset is handed out
    #[arg(long)]
    stall_at: Option<i64>,
    /// auto.commit.interval.ms for the auto and store-after modes
    #[arg(long, default_value_t = 5000)]
    auto_commit_interval_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Step::Worker(args)) => worker(args).await,
        None => showcase(&cli).await,
    };
    tutorial_support::exit_code(result)
}

/// One consumer: `cargo run -p ch03-manual-commit -- worker --topic t --group g --sink out.txt`.
async fn worker(args: &WorkerArgs) -> Result<()> {
    let cluster = args.brokers.connect()?;
    let mut config = consumer_config(cluster.bootstrap_servers(), &args.group, args.mode);
    config.set(
        "auto.commit.interval.ms",
        args.auto_commit_interval_ms.to_string(),
    );
    let consumer: Reader = config.create_with_context(CommitCounter::default())?;
    consumer.subscribe(&[&args.topic])?;
    let mut sink = Sink::open(&args.sink)?;
    let until = args.stall_at.map_or(Until::Stopped, Until::StallAt);
    let stop = shutdown_token();
    let report = run_worker(&consumer, &mut sink, args.mode, until, &stop).await?;
    println!(
        "worker stopped: processed {}, committed on the way out, left the group",
        report.processed
    );
    summary("worker", &[("processed", report.processed.to_string())]);
    Ok(())
}

async fn showcase(cli: &Cli) -> Result<()> {
    let cluster = cli.brokers.connect()?;
    let bootstrap = cluster.bootstrap_servers();
    for mode in Mode::ALL {
        print_effective(
            &format!("Consumer settings, mode {}:", mode.name()),
            &consumer_config(bootstrap, "example-group", mode),
            SETTINGS,
        )?;
    }
    // Each drill's worker is a separate process; librdkafka's mock cluster
    // lives inside this one, out of the workers' reach.
    cluster.require_real("the crash drills (a worker process must reach the same cluster)")?;
    let topic = unique_name("ch03-commit-drill");
    ensure_topic(&cluster, &topic, 1, 1, &[]).await?;
    produce(bootstrap, &topic, cli.records).await?;
    println!(
        "\n① Crash drills: {} records in one partition; each consumer is killed (SIGKILL) when offset {} \
         has been handed to it but not processed; a fresh consumer of the same group then takes over.",
        cli.records, cli.crash_at
    );
    let work_dir = std::env::temp_dir().join(unique_name("ch03-sinks"));
    std::fs::create_dir_all(&work_dir)?;
    for mode in Mode::ALL {
        let sink = work_dir.join(format!("{}.txt", mode.name()));
        let drill = crash_drill(
            &std::env::current_exe()?,
            bootstrap,
            &topic,
            mode,
            cli.records,
            cli.crash_at,
            &sink,
        )
        .await?;
        print_drill(&drill);
    }
    delete_topic(&cluster, &topic).await?;
    compare_costs(&cluster, cli.cost_records, &work_dir).await?;
    let _ = std::fs::remove_dir_all(&work_dir);
    Ok(())
}

fn print_drill(drill: &Drill) {
    let lost = &drill.audit.lost;
    println!(
        "  {:<12} killed with committed offset {:>4}; lost {:>2} {:<7}; processed twice {:>3}; \
         deduplicated by offset: {} applied once each",
        drill.mode.name(),
        drill.committed_at_kill,
        lost.len(),
        if lost.is_empty() {
            String::new()
        } else {
            format!("{lost:?}")
        },
        drill.audit.extra_deliveries,
        drill.applied_after_dedupe
    );
    let lost_offsets = lost
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    summary(
        &format!("drill-{}", drill.mode.name()),
        &[
            ("committed_at_kill", drill.committed_at_kill.to_string()),
            ("lost", lost.len().to_string()),
            (
                "lost_offsets",
                if lost.is_empty() {
                    "none".into()
                } else {
                    lost_offsets
                },
            ),
            ("repeated", drill.audit.extra_deliveries.to_string()),
            (
                "applied_after_dedupe",
                drill.applied_after_dedupe.to_string(),
            ),
        ],
    );
}

/// ② What each strategy costs: the same records, consumed once per mode.
async fn compare_costs(cluster: &Cluster, records: i64, dir: &Path) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let topic = unique_name("ch03-commit-cost");
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    produce(bootstrap, &topic, records).await?;
    println!(
        "\n② Cost: {records} records consumed once per mode (processing = one write to a file)"
    );
    println!("  mode           records/s   commit requests while consuming");
    for mode in Mode::ALL {
        let group = unique_name(&format!("ch03-cost-{}", mode.name()));
        let consumer = subscribe(bootstrap, &topic, &group, mode)?;
        let mut sink = Sink::open(&dir.join(format!("cost-{}.txt", mode.name())))?;
        let report = run_worker(
            &consumer,
            &mut sink,
            mode,
            Until::CaughtUp,
            &shutdown_token(),
        )
        .await?;
        let seconds = report.elapsed.as_secs_f64();
        let commits = match mode {
            Mode::SyncCommit => {
                format!("{} (one synchronous round trip per record)", report.commits)
            }
            _ => format!(
                "{} in the background (one per auto.commit.interval.ms) + 1 on shutdown",
                report.commits
            ),
        };
        let rate = report.processed as f64 / seconds;
        println!("  {:<12} {rate:>11.0}   {commits}", mode.name());
        summary(
            &format!("cost-{}", mode.name()),
            &[
                ("records", report.processed.to_string()),
                ("records_per_s", format!("{rate:.0}")),
                ("commits", report.commits.to_string()),
            ],
        );
    }
    delete_topic(cluster, &topic).await?;
    Ok(())
}

//! 五 综合实战：高吞吐数据管道 — ingest → transform → sink, each a process.
//!
//! Run: `cargo run -p ch05-pipeline` starts the three stages against a broker
//! on localhost:9092, shows them live and ends with a summary (Ctrl-C stops
//! them in order, nothing lost). `… -- ingest|transform|sink` runs one stage
//! alone; `… -- chaos` is the chaos drill, `… -- bench` the benchmark.

use std::process::ExitCode;

use anyhow::Result;
use ch05_pipeline::lab::bench::{self, BenchArgs};
use ch05_pipeline::lab::drill::{self, DrillArgs};
use ch05_pipeline::lab::runner::{self, RunArgs};
use ch05_pipeline::lab::stages::{self, IngestArgs, SinkArgs, TransformArgs};
use clap::{Parser, Subcommand};
use tutorial_support::{BrokerArgs, summary};

/// 五 综合实战: a high-throughput pipeline — ingest → transform (windowed counts, exactly-once) → sink (SQLite). Without a subcommand: all three stages, live.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Stage 1: generate click events (idempotent producer)
    Ingest(IngestArgs),
    /// Stage 2: windowed per-user and per-page counts in Kafka transactions
    Transform(TransformArgs),
    /// Stage 3: results into SQLite, offsets in the same database transaction
    Sink(SinkArgs),
    /// The chaos drill: random SIGKILLs of stages and a broker, then the audit
    Chaos(DrillArgs),
    /// Benchmark: end-to-end events/s and window latency, at-least-once vs exactly-once, flat out and at half rate
    Bench(BenchArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    tutorial_support::init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(args).await)
}

async fn run(args: Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    match args.command {
        Some(Command::Ingest(a)) => {
            cluster.require_real("the pipeline's replicated topics")?;
            stages::ingest(&cluster, a).await
        }
        Some(Command::Transform(a)) => stages::transform(&cluster, a).await,
        Some(Command::Sink(a)) => stages::sink(&cluster, a).await,
        Some(Command::Chaos(a)) => {
            let report = drill::run(&cluster, &std::env::current_exe()?, &a).await?;
            println!(
                "drill: {} kills ({}), {} stage exits on errors ({}), broker {:?} killed and restarted, {:.1} s",
                report.kills.len(),
                report.kills.join(","),
                report.exits.len(),
                report.exits.join(","),
                report.broker_killed,
                report.seconds
            );
            let mut fields = report.audit.fields();
            fields.push(("kills", report.kills.len().to_string()));
            fields.push(("stage_exits", report.exits.len().to_string()));
            let chosen = report.kills.iter().filter(|k| k.contains('@')).count();
            fields.push(("chosen_point_kills", chosen.to_string()));
            fields.push(("seconds", format!("{:.1}", report.seconds)));
            fields.push(("seed", report.seed.to_string()));
            summary("audit", &fields);
            Ok(())
        }
        Some(Command::Bench(a)) => {
            bench::run(&cluster, &std::env::current_exe()?, &a).await?;
            Ok(())
        }
        None => runner::run(&cluster, args.run).await,
    }
}

//! 五 综合实战：高吞吐数据管道 — ingest → transform → sink, each a process.
//!
//! Run: `cargo run -p ch05-pipeline` starts the three stages against a broker
//! on localhost:9092, shows them live and ends with a summary (Ctrl-C stops
//! them in order, nothing lost). `… -- ingest|transform|sink` runs one stage
//! alone; `… -- chaos` is the chaos drill; `… -- bench` the benchmark.

use std::process::ExitCode;

use anyhow::Result;
use ch05_pipeline::lab::stages::{self, IngestArgs, SinkArgs, TransformArgs};
use clap::{Parser, Subcommand};
use tutorial_support::BrokerArgs;

/// 五 综合实战: a high-throughput pipeline — ingest → transform (windowed counts, exactly-once) → sink (SQLite)
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
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
        None => {
            cluster.require_real("the pipeline's replicated topics and transactions")?;
            Ok(())
        }
    }
}

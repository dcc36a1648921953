//! `cargo xtask bench [--quick]`: the benchmark lab (`labs/bench`, 附录 E
//! 基准测试实验室) — our client (the lesson functions of 四.7 配置调优),
//! Kafka's Java perf tools and kafka-go over the same matrix, on the same
//! broker, in one run (ratios hold on a noisy machine).
//!
//! Uses the broker in `KAFKA_BROKERS` or on localhost:9092; starts one from
//! the Maven jars only if none answers, and then stops only that one.

use std::process::{Command, ExitCode};

use anyhow::Result;

use crate::{kafka, paths};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The headline comparison only (100 B and 1 KB, acks=all, every client): a few minutes
    #[arg(long)]
    quick: bool,
    /// Measured runs per client and configuration (default 3, after one warm-up)
    #[arg(long)]
    runs: Option<usize>,
    /// Multiply the record counts (e.g. 0.5 for a faster, noisier run)
    #[arg(long)]
    scale: Option<f64>,
    /// Leave out the Java perf tools
    #[arg(long)]
    no_java: bool,
    /// Leave out kafka-go
    #[arg(long)]
    no_go: bool,
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    let (brokers, started) = choose_brokers()?;
    let outcome = run_bench(args, &brokers);
    if started {
        println!("stopping the broker this bench started");
        kafka::down(false)?;
    }
    outcome
}

fn run_bench(args: &BenchArgs, brokers: &str) -> Result<ExitCode> {
    let mode = if args.quick { "quick" } else { "full" };
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    // Release mode: the numbers are about the clients, not about debug builds.
    command
        .args([
            "run",
            "--release",
            "--locked",
            "-p",
            "bench-lab",
            "--",
            "bench",
        ])
        .args(["--brokers", brokers, "--mode", mode])
        .current_dir(paths::workspace());
    if !args.quick {
        // The full run draws the charts the book shows.
        command.args(["--charts-dir", "book/src/images"]);
    }
    if let Some(runs) = args.runs {
        command.args(["--runs", &runs.to_string()]);
    }
    if let Some(scale) = args.scale {
        command.args(["--scale", &scale.to_string()]);
    }
    if args.no_java {
        command.arg("--no-java");
    }
    if args.no_go {
        command.arg("--no-go");
    }
    let status = command.status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `KAFKA_BROKERS` if set; else a broker on localhost:9092; else one started
/// now (and stopped afterwards). Returns the address and whether we started it.
fn choose_brokers() -> Result<(String, bool)> {
    if let Some(brokers) = kafka::existing_brokers()? {
        return Ok((brokers, false));
    }
    let default = kafka_layout::ports::default_brokers();
    println!("No broker answers on {default}: starting one for the bench");
    kafka::up(1)?;
    Ok((kafka::bootstrap(1), true))
}

//! `cargo xtask bench [--quick]`: the benchmark lab (`labs/bench`, 附录 E
//! 基准测试实验室) — our client (the lesson functions of 四.7 配置调优),
//! Kafka's Java perf tools and kafka-go over the same matrix, on the same
//! broker, in one run (ratios hold on a noisy machine).
//!
//! Uses the broker in `KAFKA_BROKERS`, the cluster `cargo xtask kafka up`
//! started (at `KAFKA_PORT_BASE`), or one answering on the default address;
//! starts one from the Maven jars only if none answers, and then stops only
//! that one. `--nodes 3` runs the same plan on a three-node cluster.

use std::process::{Command, ExitCode};

use anyhow::Result;

use crate::{kafka, paths};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The headline comparison only (100 B, 1 KB and 10 KB, acks=all, every client, librdkafka defaults and the recommended settings)
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
    /// Leave out kafka-go (and the synchronous-send trap)
    #[arg(long, alias = "no-go")]
    no_kafka_go: bool,
    /// Leave out franz-go
    #[arg(long)]
    no_franz_go: bool,
    /// Brokers: 1, or 3 (every client then has one connection per broker;
    /// the three JVMs and the clients share this machine's cores)
    #[arg(long, default_value_t = 1, value_parser = kafka::parse_nodes)]
    nodes: u8,
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    let (brokers, started) = choose_brokers(args.nodes)?;
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
    if args.no_kafka_go {
        command.arg("--no-kafka-go");
    }
    if args.no_franz_go {
        command.arg("--no-franz-go");
    }
    let status = command.status()?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `KAFKA_BROKERS` if set; else the cluster of `nodes` that `cargo xtask
/// kafka up` started; else (one node) a broker answering on the default
/// address; else a cluster of `nodes` started now (and stopped afterwards).
/// Returns the address and whether we started it.
fn choose_brokers(nodes: u8) -> Result<(String, bool)> {
    if std::env::var_os("KAFKA_BROKERS").is_some() {
        return Ok((kafka::existing_brokers()?.unwrap_or_default(), false));
    }
    match kafka::running_layout()? {
        Some(running) if running == nodes => return Ok((kafka::bootstrap(nodes), false)),
        Some(running) => anyhow::bail!(
            "a {running}-node cluster started by cargo xtask is running, and the bench was asked \
             for {nodes}: run it with --nodes {running}, or stop that cluster first \
             (`cargo xtask kafka down`, with the same KAFKA_PORT_BASE)"
        ),
        None => {}
    }
    if nodes == 1
        && let Some(brokers) = kafka::existing_brokers()?
    {
        return Ok((brokers, false));
    }
    println!("No {nodes}-node cluster of ours is running: starting one for the bench");
    kafka::up(nodes)?;
    Ok((kafka::bootstrap(nodes), true))
}

//! 四 配置调优 — settings measured, not folklore.
//!
//! `cargo run --release -p ch04-tuning` runs a short demonstration: the same
//! 1 KB records with three `linger.ms` values, then one record per
//! synchronous send with a long and a short linger. `cargo xtask bench
//! [--quick]` runs the whole matrix with Kafka's Java perf tools and kafka-go
//! next to our client (this binary's `bench` subcommand); `produce` and
//! `consume` are the single runs the bench starts as child processes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use ch04_tuning::bench::{self, BenchArgs};
use ch04_tuning::{
    CONSUMER_KEYS, ConsumerSettings, PRODUCER_KEYS, ProducerKind, ProducerSettings, chart,
    consumer_config, producer_config, report, run_consumer, run_producer, sync_sends,
};
use clap::{Parser, Subcommand};
use tutorial_support::topics::unique_name;
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, init_tracing, print_effective};

/// 四 配置调优: throughput, latency and CPU of producer and consumer settings, measured on the real broker
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command_>,
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Records per linger.ms value in the demonstration
    #[arg(long, default_value_t = 100_000)]
    records: u64,
}

#[derive(Subcommand)]
enum Command_ {
    /// One producer run on an existing topic; prints a RESULT line (JSON)
    Produce {
        #[command(flatten)]
        brokers: BrokerArgs,
        #[arg(long)]
        topic: String,
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        /// Which rust-rdkafka producer type sends
        #[arg(long, value_enum, default_value_t = ProducerKind::Base)]
        kind: ProducerKind,
        #[command(flatten)]
        settings: ProducerSettings,
    },
    /// One consumer run (its own group, from the beginning); prints a RESULT line (JSON)
    Consume {
        #[command(flatten)]
        brokers: BrokerArgs,
        #[arg(long)]
        topic: String,
        #[arg(long)]
        group: String,
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        #[command(flatten)]
        settings: ConsumerSettings,
    },
    /// The whole matrix, with the Java perf tools and kafka-go (what `cargo xtask bench` runs)
    Bench {
        #[command(flatten)]
        brokers: BrokerArgs,
        #[command(flatten)]
        args: BenchArgs,
    },
    /// Redraw the charts from a saved bench report (JSON)
    Charts {
        /// target/ch04-tuning/bench-full.json, written by a full bench run
        report: PathBuf,
        #[arg(long, default_value = "book/src/images")]
        dir: PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command_::Produce {
            brokers,
            topic,
            records,
            kind,
            settings,
        }) => produce(&brokers, &topic, records, kind, &settings).await,
        Some(Command_::Consume {
            brokers,
            topic,
            group,
            records,
            settings,
        }) => consume(&brokers, &topic, &group, records, &settings),
        Some(Command_::Bench { brokers, args }) => run_bench(&brokers, &args).await,
        Some(Command_::Charts { report, dir }) => redraw(&report, &dir),
        None => demo(&cli.brokers, cli.records).await,
    };
    tutorial_support::exit_code(result)
}

async fn produce(
    brokers: &BrokerArgs,
    topic: &str,
    records: u64,
    kind: ProducerKind,
    settings: &ProducerSettings,
) -> Result<()> {
    let cluster = brokers.connect()?;
    let config = producer_config(cluster.bootstrap_servers(), settings);
    print_effective(
        &format!("{} settings:", kind.name()),
        &config,
        PRODUCER_KEYS,
    )?;
    let result = run_producer(cluster.bootstrap_servers(), topic, records, settings, kind).await?;
    println!(
        "{} records of {} B in {:.2} s: {:.0} records/s, {:.1} MiB/s; latency p50 {:.1} ms, p99 {:.1} ms",
        result.records,
        settings.record_size,
        result.seconds,
        result.records_per_second(),
        result.mib_per_second(),
        result.p50_ms.unwrap_or(0.0),
        result.p99_ms.unwrap_or(0.0)
    );
    println!("{}", result.to_line());
    Ok(())
}

fn consume(
    brokers: &BrokerArgs,
    topic: &str,
    group: &str,
    records: u64,
    settings: &ConsumerSettings,
) -> Result<()> {
    let cluster = brokers.connect()?;
    let config = consumer_config(cluster.bootstrap_servers(), group, settings);
    print_effective("BaseConsumer settings:", &config, CONSUMER_KEYS)?;
    let result = run_consumer(cluster.bootstrap_servers(), topic, group, records, settings)?;
    println!(
        "{} records in {:.2} s from the first one: {:.0} records/s, {:.1} MiB/s",
        result.records,
        result.seconds,
        result.records_per_second(),
        result.mib_per_second()
    );
    println!("{}", result.to_line());
    Ok(())
}

async fn run_bench(brokers: &BrokerArgs, args: &BenchArgs) -> Result<()> {
    let cluster = brokers.connect()?;
    let plan = bench::plan(args);
    eprintln!(
        "bench {:?}: {} producer and {} consumer configuration(s), {} run(s) each{}; every run on a fresh topic with {} partitions",
        args.mode,
        plan.produce.len(),
        plan.consume.len(),
        plan.runs,
        if plan.warmup { " after a warm-up" } else { "" },
        args.partitions
    );
    let report = bench::run(&cluster, args, &plan).await?;
    let (json, markdown) = bench::save(&report, &args.out_dir)?;
    println!("{}", report::render(&report));
    println!("saved: {} and {}", json.display(), markdown.display());
    if let Some(dir) = &args.charts_dir {
        for path in chart::write_all(&report, dir)? {
            println!("chart: {}", path.display());
        }
    }
    Ok(())
}

fn redraw(report: &std::path::Path, dir: &std::path::Path) -> Result<()> {
    let text = std::fs::read_to_string(report).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {} ({e}): run `cargo xtask bench` first",
            report.display()
        )
    })?;
    let report: report::BenchReport = serde_json::from_str(&text)?;
    for path in chart::write_all(&report, dir)? {
        println!("chart: {}", path.display());
    }
    Ok(())
}

/// The demonstration: linger.ms 0, 5 and 50 with the same records; then
/// the synchronous one-at-a-time trap.
async fn demo(brokers: &BrokerArgs, records: u64) -> Result<()> {
    let cluster = brokers.connect()?;
    cluster.require_real("the tuning demonstration (it measures a real broker)")?;
    let bootstrap = cluster.bootstrap_servers();
    print_effective(
        "BaseProducer settings (linger.ms varies below):",
        &producer_config(bootstrap, &ProducerSettings::default()),
        PRODUCER_KEYS,
    )?;
    println!(
        "\n① {records} records of 1000 B, acks=all, BaseProducer, a fresh 3-partition topic each:"
    );
    println!("  linger.ms   records/s    MiB/s   p50 ms   p99 ms");
    for linger_ms in [0, 5, 50] {
        let topic = unique_name("ch04-demo");
        ensure_topic(&cluster, &topic, 3, 1, &[]).await?;
        let settings = ProducerSettings {
            linger_ms,
            ..ProducerSettings::default()
        };
        let r = run_producer(bootstrap, &topic, records, &settings, ProducerKind::Base).await?;
        println!(
            "  {linger_ms:>9} {:>11.0} {:>8.1} {:>8.1} {:>8.1}",
            r.records_per_second(),
            r.mib_per_second(),
            r.p50_ms.unwrap_or(0.0),
            r.p99_ms.unwrap_or(0.0)
        );
        delete_topic(&cluster, &topic).await?;
    }
    println!(
        "\n② One record per synchronous send().await (nothing else arrives to fill the batch):"
    );
    let topic = unique_name("ch04-demo-sync");
    ensure_topic(&cluster, &topic, 1, 1, &[]).await?;
    for (count, linger_ms) in [(3, 1000), (20, 5)] {
        let r = sync_sends(bootstrap, &topic, count, linger_ms).await?;
        println!(
            "  linger.ms = {linger_ms:>4}: {count} sends in {:.2} s, {:.1} ms each (median)",
            r.seconds,
            r.p50_ms.unwrap_or(0.0)
        );
    }
    delete_topic(&cluster, &topic).await?;
    println!(
        "\nThe comparison with Kafka's Java client and kafka-go, CPU per million records and the charts: \
         cargo xtask bench --quick (about 5 minutes) or cargo xtask bench (the full matrix, about 15 minutes)."
    );
    Ok(())
}

//! `cargo xtask bench` runs `cargo run --release -p bench-lab -- bench …`.
//!
//! - `bench`: the whole matrix with the Java perf tools and kafka-go;
//! - `charts`: redraw the book's charts from a saved report;
//! - `link`: `linger.ms` over a link with a real round trip (our client);
//! - `produce` / `consume`: one run of our client, with flags, to try a
//!   setting by hand (the topic must exist);
//! - `child` (hidden): what the bench starts for each run of our clients,
//!   with the run's [`RunSpec`] as its one JSON argument.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use bench_lab::clients::{Client, ConsumerSpec, ProducerSpec, RunSpec, Work};
use bench_lab::link::LinkArgs;
use bench_lab::plan::{PlanArgs, plan};
use bench_lab::report::{self, BenchReport};
use bench_lab::{chart, child, run};
use clap::{Parser, Subcommand, ValueEnum};
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, init_tracing};

/// 附录 E 基准测试实验室: rust-rdkafka vs Kafka's Java perf tools and kafka-go, same broker, same settings, one run
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole matrix, with the Java perf tools and kafka-go (what `cargo xtask bench` runs)
    Bench {
        #[command(flatten)]
        brokers: BrokerArgs,
        #[command(flatten)]
        plan: PlanArgs,
        /// Where the JSON results and the markdown tables go
        #[arg(long, default_value = "target/bench-lab")]
        out_dir: PathBuf,
        /// Write the SVG charts here (the full run writes them for the book)
        #[arg(long)]
        charts_dir: Option<PathBuf>,
    },
    /// linger.ms over a link with a real round trip: records per request, throughput, latency (our client)
    Link {
        #[command(flatten)]
        brokers: BrokerArgs,
        #[command(flatten)]
        link: LinkArgs,
    },
    /// The latency price of consumer settings: CreateTime → poll at a fixed rate (our client)
    E2e {
        #[command(flatten)]
        brokers: BrokerArgs,
        #[command(flatten)]
        args: bench_lab::e2e::E2eArgs,
    },
    /// Redraw the charts from a saved bench report (JSON)
    Charts {
        /// target/bench-lab/bench-full.json, written by a full bench run
        report: PathBuf,
        #[arg(long, default_value = "book/src/images")]
        dir: PathBuf,
    },
    /// One producer run of our client on an existing topic; prints a RESULT line (JSON)
    Produce {
        #[command(flatten)]
        brokers: BrokerArgs,
        #[arg(long)]
        topic: String,
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        /// Which rust-rdkafka producer type sends
        #[arg(long, value_enum, default_value_t = Kind::Base)]
        kind: Kind,
        #[command(flatten)]
        settings: ProducerSpec,
    },
    /// One consumer run of our client (its own group, from the beginning); prints a RESULT line (JSON)
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
        settings: ConsumerSpec,
    },
    /// Create a topic for `produce` / `consume` by hand (or delete it with --delete)
    Topic {
        #[command(flatten)]
        brokers: BrokerArgs,
        name: String,
        #[arg(long, default_value_t = 3)]
        partitions: i32,
        #[arg(long, default_value_t = 1)]
        replication: i32,
        /// Delete the topic instead
        #[arg(long)]
        delete: bool,
    },
    /// One run as the bench's child process: the RunSpec as JSON
    #[command(hide = true)]
    Child { spec: String },
}

/// Our producer types, by the name a reader types.
#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// BaseProducer: the application polls for delivery reports itself
    Base,
    /// ThreadedProducer: a background thread polls
    Threaded,
    /// FutureProducer: one future (a oneshot channel) per record, collected by a second task
    Future,
    /// FutureProducer: the futures in the sending task's own bounded FuturesUnordered
    FutureWindow,
    /// ThreadedProducer from async code: a semaphore permit per record in flight
    Permits,
    /// ThreadedProducer with the page's recommended settings for the record size (added to --set)
    Recommended,
    /// Two of `recommended`, each sending half of the records
    Instances,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let result = match Cli::parse().command {
        Command::Bench {
            brokers,
            plan,
            out_dir,
            charts_dir,
        } => bench(&brokers, &plan, &out_dir, charts_dir.as_deref()).await,
        Command::Charts { report, dir } => redraw(&report, &dir),
        Command::E2e { brokers, args } => match brokers.connect() {
            Ok(cluster) => bench_lab::e2e::run(&cluster, &args).await,
            Err(error) => Err(error.into()),
        },
        Command::Link { brokers, link } => match brokers.connect() {
            Ok(cluster) => bench_lab::link::run(&cluster, &link).await.map(drop),
            Err(error) => Err(error.into()),
        },
        Command::Produce {
            brokers,
            topic,
            records,
            kind,
            settings,
        } => {
            let client = match kind {
                Kind::Base => Client::RustBase,
                Kind::Threaded => Client::RustThreaded,
                Kind::Future => Client::RustFuture,
                Kind::FutureWindow => Client::RustFutureWindow,
                Kind::Permits => Client::RustPermits,
                Kind::Recommended => Client::RustRecommended,
                Kind::Instances => Client::RustInstances,
            };
            by_hand(&brokers, client, topic, records, Work::Produce(settings)).await
        }
        Command::Consume {
            brokers,
            topic,
            group,
            records,
            settings,
        } => {
            let work = Work::Consume { group, settings };
            by_hand(&brokers, Client::RustBase, topic, records, work).await
        }
        Command::Topic {
            brokers,
            name,
            partitions,
            replication,
            delete,
        } => topic(&brokers, &name, partitions, replication, delete).await,
        Command::Child { spec } => match RunSpec::from_json(&spec) {
            Ok(spec) => child::run(spec).await.map(|r| println!("{}", r.to_line())),
            Err(error) => Err(error),
        },
    };
    tutorial_support::exit_code(result)
}

async fn bench(
    brokers: &BrokerArgs,
    args: &PlanArgs,
    out_dir: &Path,
    charts_dir: Option<&Path>,
) -> Result<()> {
    let cluster = brokers.connect()?;
    let plan = plan(args);
    eprintln!(
        "bench {:?}: {} producer and {} consumer configuration(s), {} run(s) each{}; every run on a fresh topic with {} partitions",
        plan.mode,
        plan.produce.len(),
        plan.consume.len(),
        plan.runs,
        if plan.warmup { " after a warm-up" } else { "" },
        plan.partitions
    );
    let measured = run::run(&cluster, &plan).await?;
    let report = BenchReport::new(&plan, measured);
    let (json, markdown) = report::save(&report, out_dir)?;
    println!("{}", report::render(&report));
    println!("saved: {} and {}", json.display(), markdown.display());
    if let Some(dir) = charts_dir {
        for path in chart::write_all(&report, dir)? {
            println!("chart: {}", path.display());
        }
    }
    Ok(())
}

fn redraw(report: &Path, dir: &Path) -> Result<()> {
    let text = std::fs::read_to_string(report).with_context(|| {
        format!(
            "cannot read {}: run `cargo xtask bench` first",
            report.display()
        )
    })?;
    let report: BenchReport = serde_json::from_str(&text)?;
    for path in chart::write_all(&report, dir)? {
        println!("chart: {}", path.display());
    }
    Ok(())
}

/// Creates (or deletes) `name`, waiting until its partitions have leaders.
async fn topic(
    brokers: &BrokerArgs,
    name: &str,
    partitions: i32,
    replication: i32,
    delete: bool,
) -> Result<()> {
    let cluster = brokers.connect()?;
    cluster.require_real("creating topics")?;
    if delete {
        delete_topic(&cluster, name).await?;
        println!("deleted {name}");
    } else {
        let created = ensure_topic(&cluster, name, partitions, replication, &[]).await?;
        println!(
            "{name}: {} ({partitions} partitions, replication {replication})",
            if created { "created" } else { "already there" }
        );
    }
    Ok(())
}

/// One run of our client in this process, for a reader trying a setting.
async fn by_hand(
    brokers: &BrokerArgs,
    client: Client,
    topic: String,
    records: u64,
    work: Work,
) -> Result<()> {
    let cluster = brokers.connect()?;
    let spec = RunSpec {
        client,
        bootstrap: cluster.bootstrap_servers().to_string(),
        topic,
        records,
        work,
    };
    let role = spec.role();
    let record_size = spec.record_size();
    let result = child::run(spec).await?;
    println!(
        "{}: {} records of {record_size} B in {:.2} s: {:.0} records/s, {:.1} MiB/s; latency p50 {}, p99 {}",
        client.label(role),
        result.records,
        result.seconds,
        result.records_per_second(),
        result.mib_per_second(),
        result.p50_ms.map_or("–".into(), |v| format!("{v:.1} ms")),
        result.p99_ms.map_or("–".into(), |v| format!("{v:.1} ms")),
    );
    println!("{}", result.to_line());
    Ok(())
}

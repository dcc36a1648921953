//! 四.7 配置调优 — settings measured, not folklore.
//!
//! `cargo run --release -p ch04-tuning` runs a short demonstration: the same
//! 1 KB records with three `linger.ms` values under full load, then one
//! record per synchronous send with a long and a short linger. The
//! comparison with Kafka's Java client and kafka-go is the benchmark lab:
//! `cargo xtask bench [--quick]` (labs/bench, 附录 E).

use std::process::ExitCode;

use std::time::Duration;

use anyhow::Result;
use ch04_tuning::lab::link::{LinkRun, over_link};
use ch04_tuning::lab::{linger_sweep, sync_trap};
use ch04_tuning::lesson::{PRODUCER_KEYS, ProducerSettings, producer_config};
use clap::Parser;
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective, summary};

/// 四.7 配置调优: linger.ms under full load, and the synchronous-send trap, on the real broker
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Records per linger.ms value in the demonstration
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    /// ③: the delay of the link, each way (the round trip is twice this)
    #[arg(long, default_value_t = 10)]
    link_one_way_ms: u64,
    /// ③: records per second offered over the link, per linger.ms value
    #[arg(long, default_value_t = 5_000)]
    link_rate: u64,
    /// ③: seconds of sending per linger.ms value
    #[arg(long, default_value_t = 2)]
    link_seconds: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    tutorial_support::exit_code(demo(&cli).await)
}

/// The demonstration: linger.ms 0, 5 and 50 with the same records; then
/// the synchronous one-at-a-time trap.
async fn demo(cli: &Cli) -> Result<()> {
    let records = cli.records;
    let cluster = cli.brokers.connect()?;
    cluster.require_real("the tuning demonstration (it measures a real broker)")?;
    print_effective(
        "BaseProducer settings (linger.ms varies below):",
        &producer_config(cluster.bootstrap_servers(), &ProducerSettings::default()),
        PRODUCER_KEYS,
    )?;

    println!(
        "\n① {records} records of 1000 B, acks=all, BaseProducer, a fresh 3-partition topic each:"
    );
    println!("  linger.ms   records/s    MiB/s   p50 ms   p99 ms");
    for (linger_ms, r) in linger_sweep(&cluster, records, &[0, 5, 50]).await? {
        let (p50, p99) = r.latency.map_or((0.0, 0.0), |l| (l.p50_ms, l.p99_ms));
        println!(
            "  {linger_ms:>9} {:>11.0} {:>8.1} {p50:>8.1} {p99:>8.1}",
            r.records_per_second(),
            r.mib_per_second(),
        );
        summary(
            &format!("linger-{linger_ms}"),
            &[
                ("records", r.records.to_string()),
                (
                    "records_per_second",
                    format!("{:.0}", r.records_per_second()),
                ),
                ("p50_ms", format!("{p50:.1}")),
                ("p99_ms", format!("{p99:.1}")),
            ],
        );
    }

    println!(
        "\n② One record per synchronous send().await (nothing else arrives to fill the batch):"
    );
    for (linger_ms, r) in sync_trap(&cluster, &[(3, 1000), (20, 5)]).await? {
        let p50 = r.latency.map_or(0.0, |l| l.p50_ms);
        println!(
            "  linger.ms = {linger_ms:>4}: {} sends in {:.2} s, {p50:.1} ms each (median)",
            r.records, r.seconds,
        );
        summary(
            &format!("sync-send-{linger_ms}"),
            &[
                ("sends", r.records.to_string()),
                ("seconds", format!("{:.2}", r.seconds)),
                ("p50_ms", format!("{p50:.1}")),
            ],
        );
    }
    link_step(&cluster, cli).await?;
    println!(
        "\nThe comparison with Kafka's Java client, kafka-go and franz-go, CPU per million records and \
         the charts: cargo xtask bench --quick (about 12 minutes) or cargo xtask bench (the full \
         matrix, about 30 minutes)."
    );
    Ok(())
}

/// ③ linger.ms over a link with a real round trip, at a fixed load: what
/// each value does to the batch (records per Produce request) and latency.
async fn link_step(cluster: &Cluster, cli: &Cli) -> Result<()> {
    let one_way = Duration::from_millis(cli.link_one_way_ms);
    let records = cli.link_rate * cli.link_seconds;
    println!(
        "\n③ Over a link with {one_way:?} each way ({:?} round trip; the lab's delaying relay in front of\n  \
         the broker's PROXIED listener): {records} records of 1000 B at {} records/s, BaseProducer,\n  \
         a fresh 3-partition topic each:",
        2 * one_way,
        cli.link_rate
    );
    println!("  linger.ms   requests   records/request   p50 ms   p99 ms");
    let runs: Vec<LinkRun> = LINK_LINGERS
        .iter()
        .map(|&linger_ms| LinkRun {
            settings: ProducerSettings {
                linger_ms,
                ..ProducerSettings::default()
            },
            records,
            rate: cli.link_rate,
        })
        .collect();
    for row in over_link(cluster, one_way, 3, 1000, &runs).await? {
        let linger_ms = row.run.settings.linger_ms;
        let (p50, p99) = row
            .measured
            .latency
            .map_or((0.0, 0.0), |l| (l.p50_ms, l.p99_ms));
        println!(
            "  {linger_ms:>9} {:>10} {:>17.1} {p50:>8.1} {p99:>8.1}",
            row.produce_requests,
            row.records_per_request(),
        );
        summary(
            &format!("link-linger-{linger_ms}"),
            &[
                ("records", row.measured.records.to_string()),
                ("requests", row.produce_requests.to_string()),
                (
                    "records_per_request",
                    format!("{:.1}", row.records_per_request()),
                ),
                ("p50_ms", format!("{p50:.1}")),
                ("p99_ms", format!("{p99:.1}")),
            ],
        );
    }
    Ok(())
}

/// The linger.ms values of ③.
const LINK_LINGERS: &[u64] = &[0, 5, 20, 100];

//! 二.4 幂等生产者 — duplicates from retries, and how idempotence prevents them.
//!
//! Run: `cargo run -p ch02-idempotence` against the broker started by
//! `cargo xtask kafka up` (its PROXIED listener on 9192 sits behind the
//! fault-injecting proxy this program runs on 9292).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use ch02_idempotence::{BROKER_PROXIED, Outcome, producer_config, trial};
use clap::Parser;
use tutorial_support::testing::unique_name;
use tutorial_support::topics::delete_topic;
use tutorial_support::{BrokerArgs, init_tracing, print_effective};

/// 二.4 幂等生产者: lose produce responses on purpose and count the duplicates the retries create
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Records per run
    #[arg(long, default_value_t = 2000)]
    records: usize,
    /// Produce responses the proxy swallows per run
    #[arg(long, default_value_t = 3)]
    faults: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    cluster.require_real("duplicates from lost responses need a real broker behind the proxy")?;
    // The PROXIED listener advertises the proxy's port, so a metadata probe
    // through it would be answered with an address nobody listens on yet:
    // a plain TCP connect is the right check.
    std::net::TcpStream::connect_timeout(&"127.0.0.1:9192".parse()?, Duration::from_secs(5))
        .with_context(|| {
            format!(
                "nothing listens on the PROXIED listener {BROKER_PROXIED}: start the broker with \
             `cargo xtask kafka up` (or docker compose), which configures it"
            )
        })?;
    for idempotent in [false, true] {
        print_effective(
            &format!("Producer settings (enable.idempotence={idempotent}):"),
            &producer_config(cluster.bootstrap_servers(), idempotent),
            &[
                "enable.idempotence",
                "acks",
                "max.in.flight.requests.per.connection",
                "retries",
            ],
        )?;
    }
    println!(
        "\nEach run sends {} records through a proxy that lets the broker write the first {} produce\n\
         requests but swallows their responses, so the producer retries them.",
        args.records, args.faults
    );
    println!(
        "  enable.idempotence   sent   acknowledged   stored   duplicates   order kept   responses lost"
    );
    for idempotent in [false, true] {
        let topic = unique_name("ch02-idempotence");
        let (outcome, dropped) = trial(
            cluster.bootstrap_servers(),
            &topic,
            idempotent,
            args.records,
            args.faults,
        )
        .await?;
        print_row(idempotent, &outcome, dropped);
        delete_topic(&cluster, &topic).await?;
    }
    println!(
        "  Without idempotence each retry wrote the same batch again. With it, the broker recognised\n  \
         the producer id and sequence numbers of a batch it already had and kept one copy."
    );
    Ok(())
}

fn print_row(idempotent: bool, o: &Outcome, dropped: u32) {
    println!(
        "  {:<18} {:>6} {:>14} {:>8} {:>12} {:>12} {:>16}",
        idempotent,
        o.sent,
        o.acknowledged,
        o.stored,
        o.duplicates,
        if o.order_kept { "yes" } else { "no" },
        dropped
    );
}

//! `bench-lab link`: `linger.ms` over a link with a real round trip.
//!
//! The rest of the bench runs over loopback, where sending and answering a
//! request costs almost nothing. Here the lesson's `BaseProducer` loop runs
//! through the chapter's delaying relay ([`ch04_tuning::lab::link`]) in
//! front of the broker's `PROXIED` listener, at full load and at fixed
//! offered loads, for each `linger.ms`; the relay counts the Produce
//! requests, so each row says how big the batches really were.
//!
//! Every configuration runs `runs` times on a fresh topic; the table shows
//! medians (and the range of p50 over the runs).

use std::time::Duration;

use anyhow::Result;
use ch04_tuning::lab::link::{LinkMeasured, LinkRun, over_link};
use ch04_tuning::lesson::ProducerSettings;
use tutorial_support::Cluster;

use crate::report::median;

/// What `bench-lab link` runs.
#[derive(Debug, Clone, clap::Args)]
pub struct LinkArgs {
    /// One-way delays of the link in ms, comma-separated (0: the relay without a delay)
    #[arg(long, value_delimiter = ',', default_values_t = [0, 10])]
    pub one_way_ms: Vec<u64>,
    /// linger.ms values, comma-separated
    #[arg(long, value_delimiter = ',', default_values_t = [0, 1, 5, 20, 100])]
    pub lingers: Vec<u64>,
    /// Offered loads in records/s, comma-separated (0: full load, as fast as the client takes them)
    #[arg(long, value_delimiter = ',', default_values_t = [0, 1000, 5000])]
    pub rates: Vec<u64>,
    /// enable.idempotence values, comma-separated
    #[arg(long, value_delimiter = ',', default_values_t = [false])]
    pub idempotence: Vec<bool>,
    /// Records per full-load run
    #[arg(long, default_value_t = 100_000)]
    pub records: u64,
    /// Seconds of sending per fixed-load run
    #[arg(long, default_value_t = 2)]
    pub seconds: u64,
    /// Record size in bytes
    #[arg(long, default_value_t = 1000)]
    pub record_size: usize,
    /// Partitions of every topic
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Runs per configuration (the table shows medians)
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

/// The medians of one configuration's runs.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub one_way_ms: u64,
    pub rate: u64,
    pub linger_ms: u64,
    pub idempotence: bool,
    pub records_per_request: f64,
    pub records_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The lowest and highest p50 of the runs.
    pub p50_range: (f64, f64),
}

impl LinkRow {
    fn from_runs(one_way_ms: u64, run: &LinkRun, measured: &[LinkMeasured]) -> LinkRow {
        let of =
            |f: &dyn Fn(&LinkMeasured) -> f64| -> Vec<f64> { measured.iter().map(f).collect() };
        let p50s = of(&|m| m.measured.latency.map_or(f64::NAN, |l| l.p50_ms));
        let low = p50s.iter().copied().fold(f64::INFINITY, f64::min);
        let high = p50s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        LinkRow {
            one_way_ms,
            rate: run.rate,
            linger_ms: run.settings.linger_ms,
            idempotence: run.settings.idempotence,
            records_per_request: median(&of(&|m| m.records_per_request())),
            records_per_second: median(&of(&|m| m.measured.records_per_second())),
            p50_ms: median(&p50s),
            p99_ms: median(&of(&|m| m.measured.latency.map_or(f64::NAN, |l| l.p99_ms))),
            p50_range: (low, high),
        }
    }
}

/// Runs every configuration `args.runs` times, printing each row as it is done.
pub async fn run(cluster: &Cluster, args: &LinkArgs) -> Result<Vec<LinkRow>> {
    println!(
        "linger.ms over a link: the lesson's BaseProducer through a relay that delays each direction,\n\
         {} B records, {} partitions, acks=all, {} run(s) per row (medians; p50 range over the runs).\n\
         load: records/s offered (full: {} records as fast as the client takes them; else {} s of sending).\n",
        args.record_size, args.partitions, args.runs, args.records, args.seconds
    );
    println!(
        "round trip  load        linger.ms  idempotence  records/request  records/s  p50 ms  p99 ms  p50 range ms"
    );
    let mut rows = Vec::new();
    for &one_way_ms in &args.one_way_ms {
        for &rate in &args.rates {
            for &idempotence in &args.idempotence {
                for &linger_ms in &args.lingers {
                    let run = LinkRun {
                        settings: ProducerSettings {
                            linger_ms,
                            idempotence,
                            ..ProducerSettings::default()
                        },
                        records: if rate == 0 {
                            args.records
                        } else {
                            rate * args.seconds
                        },
                        rate,
                    };
                    let runs = vec![run.clone(); args.runs.max(1)];
                    let one_way = Duration::from_millis(one_way_ms);
                    let measured =
                        over_link(cluster, one_way, args.partitions, args.record_size, &runs)
                            .await?;
                    let row = LinkRow::from_runs(one_way_ms, &run, &measured);
                    println!("{}", render_row(&row));
                    rows.push(row);
                }
            }
        }
    }
    Ok(rows)
}

fn render_row(row: &LinkRow) -> String {
    let load = if row.rate == 0 {
        "full".to_string()
    } else {
        format!("{}/s", row.rate)
    };
    format!(
        "{:>7} ms  {load:<10} {:>9}  {:<11}  {:>15.1}  {:>9.0}  {:>6.1}  {:>6.1}  {:.1}–{:.1}",
        2 * row.one_way_ms,
        row.linger_ms,
        row.idempotence,
        row.records_per_request,
        row.records_per_second,
        row.p50_ms,
        row.p99_ms,
        row.p50_range.0,
        row.p50_range.1,
    )
}

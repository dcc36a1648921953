//! `bench-lab e2e`: the latency price of consumer settings. Records are
//! produced at a fixed rate (the lesson's `ThreadedProducer` loop) while a
//! consumer group reads them with the lesson's consumer settings; the
//! latency of a record is the time from its CreateTime (stamped by the
//! producer, in milliseconds) to the moment `poll` hands it over.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use ch04_tuning::lab::{PAYLOAD_SEED, payload};
use ch04_tuning::lesson::{
    ConsumerSettings, Load, ProducerSettings, consumer_config, fast_consumer, run_threaded,
};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use tutorial_lab::unique_name;
use tutorial_support::Cluster;
use tutorial_support::topics::{delete_topic, ensure_topic};

use crate::report::median;

#[derive(Debug, Clone, clap::Args)]
pub struct E2eArgs {
    /// Records per second the producer offers
    #[arg(long, default_value_t = 2000)]
    pub rate: u64,
    /// Seconds of producing per configuration
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    #[arg(long, default_value_t = 1000)]
    pub record_size: usize,
    /// Runs per configuration (medians are printed)
    #[arg(long, default_value_t = 2)]
    pub runs: usize,
}

/// The consumer configurations compared.
pub fn configurations() -> Vec<(&'static str, ConsumerSettings)> {
    let defaults = ConsumerSettings::default();
    vec![
        ("librdkafka defaults", defaults.clone()),
        (
            "fast_consumer() (fetch.queue.backoff.ms=10)",
            fast_consumer(),
        ),
        (
            "fetch.min.bytes=1048576 (fetch.wait.max.ms=500)",
            ConsumerSettings {
                fetch_min_bytes: 1_048_576,
                ..defaults.clone()
            },
        ),
        (
            "fetch.min.bytes=1048576 fetch.wait.max.ms=100",
            ConsumerSettings {
                fetch_min_bytes: 1_048_576,
                fetch_wait_max_ms: 100,
                ..defaults
            },
        ),
    ]
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Reads `records` records of `topic` and returns each one's CreateTime →
/// poll latency in ms. Signals `ready` once the group assigned partitions.
fn read_latencies(
    bootstrap: &str,
    topic: &str,
    records: u64,
    settings: &ConsumerSettings,
    ready: std::sync::mpsc::Sender<()>,
) -> Result<Vec<f64>> {
    let group = unique_name("bench-e2e");
    let consumer: BaseConsumer = consumer_config(bootstrap, &group, settings).create()?;
    consumer.subscribe(&[topic])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while consumer.assignment()?.count() == 0 {
        if Instant::now() > deadline {
            bail!("no partitions assigned within 30 s");
        }
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            message?;
            bail!("a record arrived before the producer started");
        }
    }
    let _ = ready.send(());
    let mut latencies = Vec::with_capacity(records as usize);
    let mut last = Instant::now();
    while (latencies.len() as u64) < records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(message) => {
                let message = message.context("consumer poll")?;
                let sent = message.timestamp().to_millis().unwrap_or_else(now_ms);
                latencies.push((now_ms() - sent) as f64);
                last = Instant::now();
            }
            None if last.elapsed() > Duration::from_secs(60) => {
                bail!("read {} of {records}; nothing for 60 s", latencies.len())
            }
            None => {}
        }
    }
    Ok(latencies)
}

/// p50 and p99 of `values` (ms).
fn percentiles(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| {
        values
            .get(((values.len().saturating_sub(1)) as f64 * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    (at(0.5), at(0.99))
}

/// Runs every configuration `args.runs` times; prints one row each.
pub async fn run(cluster: &Cluster, args: &E2eArgs) -> Result<()> {
    cluster.require_real("the end-to-end latency runs")?;
    println!(
        "consumer latency: {} records of {} B at {} records/s per run, {} run(s) per row (medians),\n\
         CreateTime → poll, 3 partitions, the lesson's ThreadedProducer and BaseConsumer loops\n",
        args.rate * args.seconds,
        args.record_size,
        args.rate,
        args.runs
    );
    // One unmeasured run first: the first run after a broker start once
    // measured hundreds of ms that no later run repeated.
    one_run(cluster, args, &ConsumerSettings::default()).await?;
    println!(
        "{:<50} {:>8} {:>8}",
        "consumer settings", "p50 ms", "p99 ms"
    );
    for (name, settings) in configurations() {
        let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
        for _ in 0..args.runs {
            let (p50, p99) = one_run(cluster, args, &settings).await?;
            p50s.push(p50);
            p99s.push(p99);
        }
        println!("{name:<50} {:>8.1} {:>8.1}", median(&p50s), median(&p99s));
    }
    Ok(())
}

/// One run on a fresh topic: the (p50, p99) latency in ms.
async fn one_run(
    cluster: &Cluster,
    args: &E2eArgs,
    settings: &ConsumerSettings,
) -> Result<(f64, f64)> {
    let records = args.rate * args.seconds;
    let topic = unique_name("bench-e2e");
    ensure_topic(cluster, &topic, 3, 1, &[]).await?;
    let bootstrap = cluster.bootstrap_servers().to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let reader = {
        let (bootstrap, topic, settings) = (bootstrap.clone(), topic.clone(), settings.clone());
        tokio::task::spawn_blocking(move || {
            read_latencies(&bootstrap, &topic, records, &settings, ready_tx)
        })
    };
    // Produce only once the group has its partitions.
    let ready =
        tokio::task::spawn_blocking(move || ready_rx.recv_timeout(Duration::from_secs(40))).await?;
    if ready.is_err() {
        let error = reader.await?.err();
        bail!("the consumer did not get ready: {error:?}");
    }
    let value = payload(args.record_size, PAYLOAD_SEED);
    let (name, rate) = (topic.clone(), args.rate);
    tokio::task::spawn_blocking(move || {
        let load = Load {
            records,
            payload: &value,
            rate,
        };
        run_threaded(&bootstrap, &name, &ProducerSettings::default(), load)
    })
    .await??;
    let latencies = reader.await??;
    delete_topic(cluster, &topic).await?;
    Ok(percentiles(latencies))
}

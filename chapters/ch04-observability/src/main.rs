//! 四.5 可观测性 — librdkafka's statistics as Prometheus metrics, and consumer
//! lag measured three ways.
//!
//! Run: `cargo run -p ch04-observability` against a broker on localhost:9092,
//! then `curl localhost:9464/metrics` while it runs. After each step it
//! prints one `summary:` line for the tests.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ch04_observability::lab::load::fill_partitions;
use ch04_observability::lab::snapshots::{consumer_lags, next_snapshot};
use ch04_observability::lab::{scrape, tool};
use ch04_observability::lesson::consume::consume_until;
use ch04_observability::lesson::endpoint::{MetricsServer, serve};
use ch04_observability::lesson::lag::{lag_monitor, lag_now};
use ch04_observability::lesson::metrics::Metrics;
use ch04_observability::lesson::stats::{
    StatsContext, consumer_config, context_for, producer_config, statistics_interval,
};
use clap::Parser;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, Statistics, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, Cluster, init_tracing, summary};

const PARTITIONS: i32 = 3;

/// 四.5 可观测性: librdkafka statistics as Prometheus metrics, a live lag table, and consumer lag three ways
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Port of the /metrics endpoint (0: any free port)
    #[arg(long, default_value_t = kafka_layout::ports::metrics())]
    metrics_port: u16,
    /// statistics.interval.ms of every client (0 turns statistics, and so the metrics, off)
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    stats_interval_ms: u64,
    /// How long the live table runs, in seconds (the consumer is paused for the first third)
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(3..=60))]
    seconds: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    let metrics = Metrics::new();
    let server = serve(args.metrics_port, metrics.clone()).await?;
    println!("① Prometheus metrics at http://{}/metrics", server.address);
    let probe = consumer_config(
        cluster.bootstrap_servers(),
        "unused",
        args.stats_interval_ms,
    );
    let Some(interval) = statistics_interval(&probe) else {
        println!(
            "  metrics are off: statistics.interval.ms=0, so librdkafka emits no statistics and there is nothing to export."
        );
        println!("  Run with --stats-interval-ms 1000 (or any value > 0).");
        summary(
            "metrics",
            &[
                ("state", "off".into()),
                ("port", server.address.port().to_string()),
            ],
        );
        return Ok(());
    };
    summary(
        "metrics",
        &[
            ("state", "on".into()),
            ("port", server.address.port().to_string()),
        ],
    );

    let topic = tutorial_support::topics::unique_name("ch04-observability");
    ensure_topic(&cluster, &topic, PARTITIONS, 1, &[]).await?;
    let result = steps(args, &cluster, &metrics, &server, &topic, interval).await;
    delete_topic(&cluster, &topic).await.ok();
    result
}

async fn steps(
    args: &Args,
    cluster: &Cluster,
    metrics: &Metrics,
    server: &MetricsServer,
    topic: &str,
    interval: Duration,
) -> Result<()> {
    live_table(args, cluster, metrics, topic, interval).await?;
    show_scrape(server).await?;
    lag_three_ways(args, cluster, metrics, topic).await
}

/// ② A producer at a steady rate, a consumer paused for the first third,
/// one table row per second: throughput, lag from outside and from the
/// statistics, the producer's queue and round trip.
async fn live_table(
    args: &Args,
    cluster: &Cluster,
    metrics: &Metrics,
    topic: &str,
    interval: Duration,
) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let config = producer_config(bootstrap, 5, args.stats_interval_ms);
    let producer_stats = context_for(&config, metrics, "the producer");
    let producer: FutureProducer<StatsContext> =
        config.create_with_context(producer_stats.clone())?;
    let group = tutorial_support::topics::unique_name("ch04-observability");
    let config = consumer_config(bootstrap, &group, args.stats_interval_ms);
    let consumer: Arc<StreamConsumer<StatsContext>> =
        Arc::new(config.create_with_context(context_for(&config, metrics, "the consumer"))?);
    consumer.subscribe(&[topic])?;
    let stop = CancellationToken::new();
    let reader = tokio::spawn({
        let (consumer, stop) = (Arc::clone(&consumer), stop.clone());
        async move { consume_until(&consumer, &stop, Duration::from_millis(500), |_| {}).await }
    });
    let writer = tokio::spawn({
        let (producer, topic, stop) = (producer.clone(), topic.to_string(), stop.clone());
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut n = 0u64;
            while !stop.is_cancelled() {
                tick.tick().await;
                let payload = n.to_string();
                let record = FutureRecord::to(&topic).key(&payload).payload(&payload);
                producer
                    .send(record, Duration::from_secs(5))
                    .await
                    .map_err(|(e, _)| e)?;
                n += 1;
            }
            Ok::<u64, rdkafka::error::KafkaError>(n)
        }
    });
    // Wait for the group to assign the partitions, then pause them.
    let assigned = Instant::now();
    while consumer.assignment()?.count() < PARTITIONS as usize {
        anyhow::ensure!(
            assigned.elapsed() < Duration::from_secs(30),
            "no assignment within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    consumer.pause(&consumer.assignment()?)?;
    let paused_for = args.seconds / 3;
    println!(
        "\n② {} s: the producer writes ~100 records/s; the consumer is paused for the first {paused_for} s (it keeps calling recv()).",
        args.seconds
    );
    println!(
        "  {:>3}  {:>10}  {:>10}  {:>12}  {:>11}  {:>5}  {:>8}",
        "s", "produced/s", "consumed/s", "lag(offsets)", "lag(stats)", "queue", "rtt ms"
    );
    let monitor = Arc::new(lag_monitor(bootstrap, &group)?);
    let (mut last_tx, mut last_rx) = (0i64, 0i64);
    let (mut max_lag, mut frozen, mut final_offsets, mut final_stats) = (0i64, true, 0i64, 0i64);
    let started = Instant::now();
    let mut paused = true;
    for second in 1..=args.seconds {
        tokio::time::sleep_until((started + Duration::from_secs(second)).into()).await;
        if second == paused_for + 1 {
            consumer.resume(&consumer.assignment()?)?;
            paused = false;
            println!("  --- resumed ---");
        }
        let (p, c) = (
            producer_stats.latest().unwrap_or_default(),
            consumer.context().latest().unwrap_or_default(),
        );
        let outside = total_lag_outside(&monitor, topic).await?;
        let inside: i64 = consumer_lags(&c, topic).values().filter(|l| **l >= 0).sum();
        let rtt = p
            .brokers
            .values()
            .filter(|b| b.nodeid >= 0)
            .filter_map(|b| b.rtt.as_ref())
            .map(|w| w.avg)
            .max()
            .unwrap_or(0);
        let per_second = |now: i64, last: i64| (now - last) as f64 / interval.as_secs_f64();
        println!(
            "  {second:>3}  {:>10.0}  {:>10.0}  {outside:>12}  {inside:>11}  {:>5}  {:>8.1}",
            per_second(p.txmsgs, last_tx),
            per_second(c.rxmsgs, last_rx),
            p.msg_cnt,
            rtt as f64 / 1e3
        );
        (last_tx, last_rx) = (p.txmsgs, c.rxmsgs);
        max_lag = max_lag.max(outside);
        if paused && second > 1 && inside > 0 {
            frozen = false; // statistics' lag moved while paused
        }
        (final_offsets, final_stats) = (outside, inside);
    }
    stop.cancel();
    let written = writer.await??;
    let consumed = reader.await??;
    println!(
        "  {written} records written, {consumed} consumed; the consumer committed on the way out."
    );
    summary(
        "live",
        &[
            ("rows", args.seconds.to_string()),
            ("written", written.to_string()),
            ("max_lag_offsets", max_lag.to_string()),
            ("stats_lag_frozen_while_paused", frozen.to_string()),
            ("last_lag_offsets", final_offsets.to_string()),
            ("last_lag_stats", final_stats.to_string()),
        ],
    );
    Ok(())
}

async fn total_lag_outside(
    monitor: &Arc<rdkafka::consumer::BaseConsumer>,
    topic: &str,
) -> Result<i64> {
    let (monitor, topic) = (Arc::clone(monitor), topic.to_string());
    let partitions: Vec<i32> = (0..PARTITIONS).collect();
    let lags = tokio::task::spawn_blocking(move || {
        lag_now(&monitor, &topic, &partitions, Duration::from_secs(10))
    })
    .await??;
    Ok(lags
        .iter()
        .map(|l| l.lag().unwrap_or(l.high_watermark))
        .sum())
}

/// ③ What Prometheus sees: one scrape of the endpoint, a few lines of it.
async fn show_scrape(server: &MetricsServer) -> Result<()> {
    let (status, body) = scrape::get(server.address, "/metrics")
        .await
        .context("GET /metrics")?;
    anyhow::ensure!(status == 200, "GET /metrics answered {status}: {body}");
    let samples: Vec<&str> = body.lines().filter(|l| !l.starts_with('#')).collect();
    println!("\n③ GET /metrics: {} samples; some of them:", samples.len());
    for prefix in [
        "kafka_consumer_lag_messages",
        "kafka_producer_queue_messages",
        "kafka_producer_batch_messages_avg",
        "kafka_broker_rtt_avg_seconds",
        "kafka_consumer_rebalances_total",
    ] {
        for line in samples.iter().filter(|l| l.starts_with(prefix)).take(2) {
            println!("  {line}");
        }
    }
    let families = body.lines().filter(|l| l.starts_with("# TYPE")).count();
    summary(
        "scrape",
        &[
            ("status", status.to_string()),
            ("samples", samples.len().to_string()),
            ("families", families.to_string()),
        ],
    );
    Ok(())
}

/// ④ A group with a known backlog: it reads everything, commits half of
/// each partition; lag from the statistics, from offsets, from Kafka's tool.
async fn lag_three_ways(
    args: &Args,
    cluster: &Cluster,
    metrics: &Metrics,
    topic: &str,
) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    fill_partitions(bootstrap, topic, &[30, 20, 10]).await?;
    let group = tutorial_support::topics::unique_name("ch04-observability-backlog");
    let monitor = Arc::new(lag_monitor(bootstrap, &group)?);
    let partitions: Vec<i32> = (0..PARTITIONS).collect();
    let (m, t, p) = (Arc::clone(&monitor), topic.to_string(), partitions.clone());
    let before =
        tokio::task::spawn_blocking(move || lag_now(&m, &t, &p, Duration::from_secs(10))).await??;
    let total: i64 = before.iter().map(|l| l.high_watermark).sum();
    let config = consumer_config(bootstrap, &group, args.stats_interval_ms.min(500));
    let consumer: Arc<StreamConsumer<StatsContext>> = Arc::new(
        config.create_with_context(context_for(&config, metrics, "the backlog consumer"))?,
    );
    consumer.subscribe(&[topic])?;
    let stop = CancellationToken::new();
    let reader = tokio::spawn({
        let (consumer, stop) = (Arc::clone(&consumer), stop.clone());
        async move { consume_until(&consumer, &stop, Duration::from_secs(3600), |_| {}).await }
    });
    let started = Instant::now();
    while consumer
        .context()
        .latest()
        .map_or(0, |s: Statistics| s.rxmsgs)
        < total
    {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the backlog consumer read too little in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut offsets = TopicPartitionList::new();
    for lag in &before {
        offsets.add_partition_offset(
            topic,
            lag.partition,
            Offset::Offset(lag.high_watermark / 2),
        )?;
    }
    let committer = Arc::clone(&consumer);
    tokio::task::spawn_blocking(move || committer.commit(&offsets, CommitMode::Sync)).await??;
    let snapshot = next_snapshot(consumer.context(), 2, Duration::from_secs(30))
        .await
        .context("statistics after the commit")?;
    let from_stats = consumer_lags(&snapshot, topic);
    let (m, t) = (Arc::clone(&monitor), topic.to_string());
    let from_offsets =
        tokio::task::spawn_blocking(move || lag_now(&m, &t, &partitions, Duration::from_secs(10)))
            .await??;
    let line = |values: Vec<i64>| {
        values
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let stats_line = line(from_stats.values().copied().collect());
    let offsets_line = line(from_offsets.iter().map(|l| l.lag().unwrap_or(-1)).collect());
    println!(
        "\n④ Group {group}: read everything, committed half of each partition. Lag per partition:"
    );
    println!("  statistics (consumer_lag):                  {stats_line}");
    println!("  committed offset vs high watermark:         {offsets_line}");
    let mut fields = vec![
        ("stats", stats_line.clone()),
        ("offsets", offsets_line.clone()),
    ];
    let tool_step = cluster.require_real("Kafka's own kafka-consumer-groups tool (step ④)");
    if tool_step.is_ok() {
        let (b, g, t) = (bootstrap.to_string(), group.clone(), topic.to_string());
        let rows = tokio::task::spawn_blocking(move || tool::describe_group(&b, &g, &t)).await??;
        let tool_line = line(rows.iter().map(|r| r.lag.unwrap_or(-1)).collect());
        println!("  kafka-consumer-groups --describe (LAG):     {tool_line}");
        fields.push(("tool", tool_line));
    }
    stop.cancel();
    reader.await??;
    summary("lag", &fields);
    tool_step?;
    Ok(())
}

//! 四 错误处理 — classify errors, fail fast where retrying cannot help, and
//! move poison records to a dead-letter topic instead of stopping.
//!
//! Run: `cargo run -p ch04-error-handling` against a broker on localhost:9092.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use ch04_error_handling::{
    Strategy, classify, consume_with_dlq, consumer, producer_config, send_to,
};
use clap::Parser;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tutorial_support::testing::unique_name;
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, Cluster, init_tracing};

/// 四 错误处理: which errors to retry, which to fail fast on, and a dead-letter topic for poison records
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Attempts per record before it goes to the dead-letter topic
    #[arg(long, default_value_t = 3)]
    attempts: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    cluster
        .require_real("topic auto-creation behaviour and dead-letter topics need a real broker")?;
    show_strategies();
    unknown_topic(&cluster).await?;
    dead_letters(&cluster, args.attempts).await
}

/// ① The strategy for each error this chapter discusses.
fn show_strategies() {
    use RDKafkaErrorCode as E;
    println!("① What to do about an error:");
    for code in [
        E::QueueFull,
        E::BrokerTransportFailure,
        E::AllBrokersDown,
        E::NotEnoughReplicas,
        E::MessageTimedOut,
        E::MessageSizeTooLarge,
        E::UnknownTopicOrPartition,
        E::TopicAuthorizationFailed,
        E::Fatal,
    ] {
        let strategy = match classify(&KafkaError::MessageProduction(code)) {
            Strategy::LibrdkafkaRetries => "librdkafka retries (bounded by message.timeout.ms)",
            Strategy::BackOff => "back off, slow the source, send again",
            Strategy::FailFast => "fail fast: fix input, config or cluster",
            Strategy::Recreate => "client unusable: recreate it",
            Strategy::RetriesExhausted => "retries used up: alert or set the record aside",
        };
        println!("  {:<28} {strategy}", format!("{code:?}"));
    }
}

/// ② A topic that does not exist: with the defaults, only "timed out";
/// with a short metadata propagation wait, the real reason.
async fn unknown_topic(cluster: &Cluster) -> Result<()> {
    let topic = unique_name("no-such-topic");
    println!("\n② Writing to {topic} (it does not exist; auto-creation is off):");
    for (label, propagation) in [
        ("defaults", None),
        ("topic.metadata.propagation.max.ms=2000", Some(2000)),
    ] {
        let started = std::time::Instant::now();
        match send_to(cluster.bootstrap_servers(), &topic, 5000, propagation).await {
            Ok(()) => println!("  {label}: delivered?! (is auto.create.topics.enable on?)"),
            Err(error) => println!(
                "  {label}: failed after {:.1} s: {error} → {:?}",
                started.elapsed().as_secs_f64(),
                classify(&error)
            ),
        }
    }
    Ok(())
}

/// ③ Poison records: bounded retries, then the dead-letter topic.
async fn dead_letters(cluster: &Cluster, attempts: u32) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let topic = unique_name("ch04-orders");
    let dlq = format!("{topic}.dlq");
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    ensure_topic(cluster, &dlq, 1, 1, &[]).await?;
    let producer: FutureProducer = producer_config(bootstrap, 30_000).create()?;
    for i in 0..20 {
        let payload = if i % 7 == 3 {
            format!("poison-{i}")
        } else {
            i.to_string()
        };
        producer
            .send(
                FutureRecord::<(), _>::to(&topic).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)?;
    }
    let consumer = consumer(bootstrap, &topic, &unique_name("ch04-dlq"))?;
    let report = consume_with_dlq(&consumer, &producer, 20, attempts, |payload| {
        let _amount: u32 = std::str::from_utf8(payload)?.parse()?;
        Ok(())
    })
    .await?;
    println!("\n③ 20 records, some not numbers; {attempts} attempts each, then {dlq}:");
    println!(
        "  processed {}; dead-lettered offsets {:?}; the group committed past all of them",
        report.processed.len(),
        report.dead_lettered
    );
    drop(consumer);
    delete_topic(cluster, &topic).await?;
    delete_topic(cluster, &dlq).await?;
    Ok(())
}

//! 二.2 配置生产者与发送 — the showcase: lesson steps ①–③, then the lab's
//! drop-without-flush drill ④.
//!
//! Run: `cargo run -p ch02-writer` against a broker on localhost:9092
//! (`cargo xtask kafka up`). Ctrl-C during the asynchronous run stops
//! enqueuing, flushes what is queued and reports — nothing is dropped.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Result;
use ch02_writer::lab::{drop_without_flush, lingering_config, queue_records};
use ch02_writer::{
    SETTINGS, async_producer, explain, flush, producer_config, send_async, send_batch, send_one,
};
use clap::Parser;
use rdkafka::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, Producer};
use tutorial_support::topics::ensure_topic;
use tutorial_support::{
    BrokerArgs, Cluster, init_tracing, print_effective, shutdown_token, summary,
};

/// 二.2 配置生产者与发送: FutureProducer (await each result) and ThreadedProducer (delivery callback)
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Topic to write to (created with 3 partitions if missing)
    #[arg(long, default_value = "ch02-writer")]
    topic: String,
    /// linger.ms: how long a record may wait for its batch to fill
    #[arg(long, default_value_t = 5)]
    linger_ms: u32,
    /// compression.type: none, gzip, snappy, lz4 or zstd
    #[arg(long, default_value = "lz4")]
    compression: String,
    /// Records sent by the asynchronous producer
    #[arg(long, default_value_t = 200_000)]
    records: u64,
    /// Payload size of each asynchronous record, in bytes
    #[arg(long, default_value_t = 100)]
    record_size: usize,
    /// queue.buffering.max.messages for the asynchronous producer (small on purpose, to show backpressure)
    #[arg(long, default_value_t = 10_000)]
    queue_size: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    let replication = if cluster.brokers().len() >= 3 { 3 } else { 1 };
    ensure_topic(&cluster, &args.topic, 3, replication, &[]).await?;
    let config = producer_config(
        cluster.bootstrap_servers(),
        args.linger_ms,
        &args.compression,
    );
    print_effective(
        "Producer settings (as librdkafka will use them):",
        &config,
        SETTINGS,
    )?;
    send_synchronously(&config, &args.topic).await?;
    send_asynchronously(&config, args).await?;
    show_drop_without_flush(&cluster, &args.topic)?;
    Ok(())
}

/// ① and ② FutureProducer: one record, then a batch with one bad record.
async fn send_synchronously(config: &ClientConfig, topic: &str) -> Result<()> {
    let producer: FutureProducer = config.create()?;
    let placement = send_one(&producer, topic, "order-1", b"created").await?;
    println!(
        "\n① Synchronous send of one record: partition {}, offset {}",
        placement.partition, placement.offset
    );
    summary(
        "sync-one",
        &[
            ("partition", placement.partition.to_string()),
            ("offset", placement.offset.to_string()),
        ],
    );

    // A batch of ten, the sixth of which is larger than message.max.bytes.
    let records: Vec<(String, Vec<u8>)> = (0..10)
        .map(|i| {
            let size = if i == 5 { 2_000_000 } else { 200 };
            (format!("order-{i}"), vec![b'x'; size])
        })
        .collect();
    println!(
        "\n② Synchronous batch of {} records, awaited together:",
        records.len()
    );
    let results = send_batch(&producer, topic, &records).await;
    for (i, (result, (key, payload))) in results.iter().zip(&records).enumerate() {
        match result {
            Ok(p) => println!(
                "  #{i} {key}: partition {}, offset {}",
                p.partition, p.offset
            ),
            Err(error) => println!(
                "  #{i} {key}: FAILED — {}",
                explain(error, payload.len(), config)
            ),
        }
    }
    let ok = results.iter().filter(|r| r.is_ok()).count();
    println!(
        "  {ok} delivered, {} failed; one bad record did not stop the others",
        results.len() - ok
    );
    let too_large = results.iter().filter(|r| {
        r.as_ref()
            .is_err_and(|e| e.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge))
    });
    summary(
        "sync-batch",
        &[
            ("sent", results.len().to_string()),
            ("delivered", ok.to_string()),
            ("failed", (results.len() - ok).to_string()),
            ("too_large", too_large.count().to_string()),
        ],
    );
    Ok(())
}

/// ③ ThreadedProducer: enqueue fast, learn outcomes from the callback.
async fn send_asynchronously(config: &ClientConfig, args: &Args) -> Result<()> {
    let mut config = config.clone();
    config.set("queue.buffering.max.messages", args.queue_size.to_string());
    let producer = async_producer(&config)?;
    let payload = vec![b'a'; args.record_size];
    println!(
        "\n③ Asynchronous send of {} records of {} bytes (local queue: {} records); Ctrl-C stops early",
        args.records, args.record_size, args.queue_size
    );
    summary(
        "async-start",
        &[
            ("records", args.records.to_string()),
            ("queue", args.queue_size.to_string()),
        ],
    );
    let stop = shutdown_token();
    let report = tokio::select! {
        report = send_async(&producer, &args.topic, args.records, &payload) => report?,
        () = stop.cancelled() => {
            // Stop enqueuing, but deliver what is already queued.
            flush(&producer).await?;
            let c = producer.context();
            let (delivered, failed) = (
                c.delivered.load(Ordering::Relaxed),
                c.failed.load(Ordering::Relaxed),
            );
            println!("  interrupted: flushed; {delivered} delivered, {failed} failed");
            summary(
                "interrupted",
                &[
                    ("delivered", delivered.to_string()),
                    ("failed", failed.to_string()),
                ],
            );
            return Ok(());
        }
    };
    let per_second = report.delivered as f64 / report.elapsed.as_secs_f64();
    println!(
        "  enqueued {}, delivered {}, failed {} in {:.2} s ({per_second:.0} records/s)",
        report.enqueued,
        report.delivered,
        report.failed,
        report.elapsed.as_secs_f64()
    );
    println!(
        "  send() answered QueueFull {} times; each time we waited and retried instead of dropping",
        report.queue_full_waits
    );
    summary(
        "async",
        &[
            ("enqueued", report.enqueued.to_string()),
            ("delivered", report.delivered.to_string()),
            ("failed", report.failed.to_string()),
            ("queue_full_waits", report.queue_full_waits.to_string()),
        ],
    );
    for error in producer
        .context()
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        println!("  failure: {error}");
    }
    Ok(())
}

/// ④ The lab's drill: a producer dropped with records still queued.
fn show_drop_without_flush(cluster: &Cluster, topic: &str) -> Result<()> {
    // A long linger keeps the records in librdkafka's queue, as a burst just
    // before shutdown would be.
    let producer = queue_records(&lingering_config(cluster.bootstrap_servers()), topic, 1_000)?;
    let counted = drop_without_flush(producer)?; // no flush(): rust-rdkafka purges the queue
    println!(
        "\n④ 1000 records queued, producer dropped without flush(): delivered {}, failed {} (purged)",
        counted.delivered, counted.failed
    );
    println!("  → always flush() before a producer goes out of scope; ③ did, and lost nothing");
    summary(
        "drop-without-flush",
        &[
            ("queued", "1000".to_string()),
            ("delivered", counted.delivered.to_string()),
            ("failed", counted.failed.to_string()),
        ],
    );
    Ok(())
}

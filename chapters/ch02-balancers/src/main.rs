//! 二.3 分区策略：从 Balancer 到 partitioner — where each record goes.
//!
//! Run: `cargo run -p ch02-balancers` (a broker on localhost:9092:
//! `cargo xtask kafka up`). The Java column needs Java 17+ and the Kafka
//! jars (fetched by `cargo xtask kafka up`), the kafka-go columns need Go;
//! without them the program says so and carries on. With
//! `KAFKA_BROKERS=mock` everything librdkafka does runs on the in-process
//! mock cluster; the parts that need another client on a real broker say so.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use ch02_balancers::{
    Fixed, GoBalancer, HASHING_PARTITIONERS, RoundRobin, end_offsets, histogram, java_placements,
    kafka_go_hash, kafka_go_write, placements, producer_config, reference, send_all,
    send_least_bytes, send_round_robin, send_through_future_producer, send_with_partitioner,
    switches,
};
use clap::Parser;
use rdkafka::ClientConfig;
use tutorial_support::topics::ensure_topic;
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective};

/// 二.3 分区策略: which partition each partitioner picks, keyless records, custom partitioners, and the Java / kafka-go key trap
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Topic for every demo (created if missing, kept afterwards)
    #[arg(long, default_value = "ch02-balancers")]
    topic: String,
    /// Number of partitions if the topic is created
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(2..=32))]
    partitions: i32,
}

/// The keys of the placement table.
const KEYS: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    let partitions = prepare_topic(&cluster, &args.topic, args.partitions).await?;
    print_effective(
        "librdkafka's defaults for choosing a partition:",
        &ClientConfig::new(),
        &["partitioner", "sticky.partitioning.linger.ms", "linger.ms"],
    )?;
    let table = key_table(&cluster, &args.topic, partitions).await?;
    traps(&table);
    kafka_go_writer(&cluster, &args.topic).await;
    keyless(&cluster, &args.topic, partitions).await?;
    custom(&cluster, &args.topic, partitions).await?;
    application_choices(&cluster, &args.topic, partitions).await?;
    Ok(())
}

/// Creates the topic if needed; an existing topic keeps its partition count.
async fn prepare_topic(cluster: &Cluster, topic: &str, partitions: i32) -> Result<i32> {
    let created = ensure_topic(cluster, topic, partitions, 1, &[]).await?;
    let actual = end_offsets(cluster.bootstrap_servers(), topic).await?.len() as i32;
    if created {
        println!("Topic {topic}: created with {actual} partitions\n");
    } else {
        println!("Topic {topic}: exists with {actual} partitions, reusing it\n");
    }
    Ok(actual)
}

/// One column of the placement table: a client's choice for each key, or
/// why it is missing.
struct Column {
    name: &'static str,
    placed: Result<BTreeMap<String, i32>>,
}

/// ① The same keys under librdkafka's partitioners, the Java client and kafka-go.
async fn key_table(cluster: &Cluster, topic: &str, partitions: i32) -> Result<Vec<Column>> {
    let bootstrap = cluster.bootstrap_servers();
    let mut columns = Vec::new();
    for partitioner in HASHING_PARTITIONERS {
        columns.push(Column {
            name: partitioner,
            placed: Ok(placements(bootstrap, topic, partitioner, &KEYS).await?),
        });
    }
    columns.push(Column {
        name: "Java client",
        placed: if cluster.is_mock() {
            Err(anyhow::anyhow!(
                "needs a real broker (Kafka's console producer does not talk to librdkafka's mock)"
            ))
        } else {
            java_placements(bootstrap, topic, &KEYS).await
        },
    });
    columns.push(Column {
        name: "kafka-go Hash",
        placed: kafka_go_hash(&KEYS, partitions).await,
    });

    println!("\n① Partition of each key ({partitions} partitions), one record per key:");
    print!("  {:<7}", "key");
    for column in &columns {
        print!(" {:>17}", column.name);
    }
    println!();
    for key in KEYS {
        print!("  {key:<7}");
        for column in &columns {
            match &column.placed {
                Ok(placed) => print!(" {:>17}", placed[key]),
                Err(_) => print!(" {:>17}", "-"),
            }
        }
        println!();
    }
    for column in &columns {
        if let Err(error) = &column.placed {
            println!("  ({} not available: {error:#})", column.name);
        }
    }
    Ok(columns)
}

/// The keys on which two columns disagree, or `None` if one is missing.
fn disagreements(columns: &[Column], a: &str, b: &str) -> Option<Vec<&'static str>> {
    let find = |name: &str| {
        columns
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.placed.as_ref().ok())
    };
    let (a, b) = (find(a)?, find(b)?);
    Some(KEYS.into_iter().filter(|k| a[*k] != b[*k]).collect())
}

/// ④ Keyless records: sticky for `sticky.partitioning.linger.ms`, then another partition.
async fn keyless(cluster: &Cluster, topic: &str, partitions: i32) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let default = producer_config(bootstrap, "consistent_random");
    let mut no_sticky = producer_config(bootstrap, "consistent_random");
    no_sticky.set("sticky.partitioning.linger.ms", "0");

    println!("\n④ Keyless records (default partitioner), records per partition:");
    let burst = send_all(&default, topic, &[None; 200], Duration::ZERO).await?;
    println!(
        "  200 in a burst, sticky linger 10 ms (default): {:?}, partition changed {} times",
        histogram(&burst, partitions),
        switches(&burst)
    );
    let spaced = send_all(&default, topic, &[None; 30], Duration::from_millis(25)).await?;
    println!(
        "  30, one every 25 ms, sticky linger 10 ms:      {:?}, partition changed {} times",
        histogram(&spaced, partitions),
        switches(&spaced)
    );
    let random = send_all(&no_sticky, topic, &[None; 200], Duration::ZERO).await?;
    println!(
        "  200 in a burst, sticky linger 0 (off):         {:?}, partition changed {} times",
        histogram(&random, partitions),
        switches(&random)
    );
    println!(
        "  → librdkafka keeps one random partition for keyless records until the sticky linger\n\
         \x20   has passed since it was picked; with the linger at 0 every record is placed at random."
    );
    Ok(())
}

/// ⑤ Custom partitioners: applied by ThreadedProducer, ignored by FutureProducer.
async fn custom(cluster: &Cluster, topic: &str, partitions: i32) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let mut no_sticky = producer_config(bootstrap, "consistent_random");
    no_sticky.set("sticky.partitioning.linger.ms", "0");
    let default = producer_config(bootstrap, "consistent_random");
    // Partition 1: none of the table's keys hashes there with CRC32 on 3
    // partitions, so a record in 1 can only have been put there by Fixed.
    let fixed_partition = 1;

    println!("\n⑤ Custom partitioners:");
    let round_robin = RoundRobin::default();
    let calls = round_robin.calls.clone();
    let placed = send_with_partitioner(&no_sticky, topic, round_robin, &[None; 300])?;
    println!(
        "  RoundRobin, ThreadedProducer, sticky linger 0, 300 keyless records: {:?} ({} calls)",
        histogram(&placed, partitions),
        calls.get()
    );

    let fixed = Fixed::new(fixed_partition);
    let calls = fixed.calls.clone();
    let keyed: Vec<Option<&str>> = KEYS.iter().map(|k| Some(*k)).collect();
    let placed = send_with_partitioner(&default, topic, fixed, &keyed)?;
    println!(
        "  Fixed({fixed_partition}), ThreadedProducer, {} keyed records: partitions {placed:?} ({} calls)",
        KEYS.len(),
        calls.get()
    );

    let fixed = Fixed::new(fixed_partition);
    let calls = fixed.calls.clone();
    let placed = send_with_partitioner(&default, topic, fixed, &[None; 50])?;
    println!(
        "  Fixed({fixed_partition}), ThreadedProducer, sticky linger 10 ms, 50 keyless records: {:?} ({} calls{})",
        histogram(&placed, partitions),
        calls.get(),
        if calls.get() == 0 {
            ": the sticky logic placed them"
        } else {
            ""
        }
    );

    let fixed = Fixed::new(fixed_partition);
    let calls = fixed.calls.clone();
    let placed = send_through_future_producer(&default, topic, fixed, &KEYS).await?;
    let crc32: Vec<i32> = KEYS
        .iter()
        .map(|k| reference::crc32_partition(k.as_bytes(), partitions))
        .collect();
    println!(
        "  Fixed({fixed_partition}), FutureProducer, {} keyed records: partitions {placed:?} ({} calls)",
        KEYS.len(),
        calls.get()
    );
    println!(
        "    CRC32(key) mod {partitions} for the same keys:          {crc32:?} → {}",
        if placed == crc32 {
            "the FutureProducer used the built-in partitioner"
        } else {
            "unexpected: neither the custom nor the built-in partitioner"
        }
    );
    println!(
        "  → only BaseProducer/ThreadedProducer register the context's partitioner (FutureProducer\n\
         \x20   never asks its context for one), and librdkafka asks it about keyless records only when\n\
         \x20   sticky partitioning is off."
    );
    Ok(())
}

/// ⑥ Round-robin and least-bytes decided by the application.
async fn application_choices(cluster: &Cluster, topic: &str, partitions: i32) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    println!("\n⑥ Partitions chosen by the application (explicit partition on each record):");
    let placed = send_round_robin(bootstrap, topic, partitions, 300).await?;
    println!(
        "  round-robin, 300 records: {:?}",
        histogram(&placed, partitions)
    );
    let sizes: Vec<usize> = (0..90).map(|i| 100 + (i * 37) % 900).collect();
    let bytes = send_least_bytes(bootstrap, topic, partitions as usize, &sizes).await?;
    println!(
        "  least-bytes, 90 records of 100-999 bytes: bytes per partition {bytes:?} (largest record: {} bytes)",
        sizes.iter().max().unwrap_or(&0)
    );
    Ok(())
}

/// ③ kafka-go's Writer with its default Balancer, on the real broker.
async fn kafka_go_writer(cluster: &Cluster, topic: &str) {
    println!("\n③ kafka-go: a Writer with Balancer left unset writes key \"alice\" six times:");
    if cluster.is_mock() {
        println!("  (skipped: needs a real broker; the kafka-go Writer is a separate Go process)");
        return;
    }
    let keys = ["alice"; 6];
    match kafka_go_write(
        cluster.bootstrap_servers(),
        topic,
        GoBalancer::WriterDefault,
        &keys,
    )
    .await
    {
        Ok(read) => {
            let partitions: Vec<i32> = read.iter().map(|l| l.partition).collect();
            println!("  partitions in write order: {partitions:?}");
            println!(
                "  → the default Balancer is round-robin: it ignores the key, so one key's records are\n\
                 \x20   spread over every partition and Kafka no longer keeps them in order. Set\n\
                 \x20   Balancer: &kafka.Hash{{}} (or another hashing balancer) when keys matter."
            );
        }
        Err(error) => println!("  (not available: {error:#})"),
    }
}

/// ② The cross-client trap, from the table above.
fn traps(columns: &[Column]) {
    println!("\n② The same key, different clients:");
    let line = |a: &str, b: &str| match disagreements(columns, a, b) {
        Some(keys) if keys.is_empty() => {
            println!(
                "  {a} vs {b}: the same partition for all {} keys",
                KEYS.len()
            );
        }
        Some(keys) => println!(
            "  {a} vs {b}: different partition for {} of {} keys ({})",
            keys.len(),
            KEYS.len(),
            keys.join(", ")
        ),
        None => println!("  {a} vs {b}: cannot compare (a column is missing)"),
    };
    line("consistent_random", "Java client");
    line("murmur2_random", "Java client");
    line("consistent_random", "kafka-go Hash");
    line("fnv1a_random", "kafka-go Hash");
    println!(
        "  → producers sharing a topic must share the hash: partitioner=murmur2_random next to Java\n\
         \x20   producers, fnv1a_random next to kafka-go's Hash."
    );
}

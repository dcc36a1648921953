//! 二.3 分区策略：从 Balancer 到 partitioner — the showcase: where each
//! record goes (lesson), and the same keys from Kafka's Java client and
//! kafka-go (lab).
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
use ch02_balancers::lab::java::java_placements;
use ch02_balancers::lab::kafka_go::{GoBalancer, kafka_go_hash, kafka_go_write};
use ch02_balancers::lab::landed::end_offsets;
use ch02_balancers::lab::{Fixed, histogram, reference, switches, unavailable_reason};
use ch02_balancers::{
    HASHING_PARTITIONERS, RoundRobin, placements, producer_config, send_all, send_least_bytes,
    send_round_robin, send_through_future_producer, send_with_partitioner,
};
use clap::Parser;
use rdkafka::ClientConfig;
use tutorial_support::settings::effective;
use tutorial_support::topics::ensure_topic;
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective, summary};

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
    let defaults = ["partitioner", "sticky.partitioning.linger.ms", "linger.ms"];
    print_effective(
        "librdkafka's defaults for choosing a partition:",
        &ClientConfig::new(),
        &defaults,
    )?;
    let fields: Vec<(&str, String)> = effective(&ClientConfig::new(), &defaults)?
        .into_iter()
        .zip(defaults)
        .map(|(setting, key)| (key, setting.value))
        .collect();
    summary("defaults", &fields);
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
    summary(
        "topic",
        &[
            ("created", if created { "yes" } else { "no" }.into()),
            ("partitions", actual.to_string()),
        ],
    );
    Ok(actual)
}

/// One column of the placement table: a client's choice for each key, or
/// why it is missing.
struct Column {
    name: &'static str,
    /// The column's name in `summary:` lines.
    id: &'static str,
    placed: Result<BTreeMap<String, i32>, Missing>,
}

/// Why a column has no values: one word for the summary, and the full text.
struct Missing {
    reason: &'static str,
    text: String,
}

impl Missing {
    fn from_error(error: anyhow::Error) -> Self {
        Missing {
            reason: unavailable_reason(&error),
            text: format!("{error:#}"),
        }
    }

    fn needs_real_broker(text: &str) -> Self {
        Missing {
            reason: "needs-real-broker",
            text: format!("needs a real broker ({text})"),
        }
    }
}

/// ① The same keys under librdkafka's partitioners, the Java client and kafka-go.
async fn key_table(cluster: &Cluster, topic: &str, partitions: i32) -> Result<Vec<Column>> {
    let bootstrap = cluster.bootstrap_servers();
    let mut columns = Vec::new();
    for partitioner in HASHING_PARTITIONERS {
        columns.push(Column {
            name: partitioner,
            id: partitioner,
            placed: Ok(placements(bootstrap, topic, partitioner, &KEYS).await?),
        });
    }
    columns.push(Column {
        name: "Java client",
        id: "java",
        placed: if cluster.is_mock() {
            Err(Missing::needs_real_broker(
                "Kafka's console producer does not talk to librdkafka's mock",
            ))
        } else {
            java_placements(bootstrap, topic, &KEYS)
                .await
                .map_err(Missing::from_error)
        },
    });
    columns.push(Column {
        name: "kafka-go Hash",
        id: "kafka-go-hash",
        placed: kafka_go_hash(&KEYS, partitions)
            .await
            .map_err(Missing::from_error),
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
                Ok(placed) => match placed.get(key) {
                    Some(partition) => print!(" {partition:>17}"),
                    None => print!(" {:>17}", "?"),
                },
                Err(_) => print!(" {:>17}", "-"),
            }
        }
        println!();
    }
    for column in &columns {
        if let Err(missing) = &column.placed {
            println!("  ({} not available: {})", column.name, missing.text);
        }
    }
    for column in &columns {
        let fields: Vec<(&str, String)> = match &column.placed {
            Ok(placed) => placed
                .iter()
                .map(|(key, partition)| (key.as_str(), partition.to_string()))
                .collect(),
            Err(missing) => vec![
                ("available", "no".into()),
                ("reason", missing.reason.into()),
            ],
        };
        summary(&format!("placement-{}", column.id), &fields);
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
    Some(
        KEYS.into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .collect(),
    )
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
    summary(
        "keyless",
        &[
            ("burst_switches", switches(&burst).to_string()),
            ("spaced_switches", switches(&spaced).to_string()),
            ("no_sticky_switches", switches(&random).to_string()),
        ],
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
    let round_robin = histogram(&placed, partitions);
    let round_robin_calls = calls.get();
    println!(
        "  RoundRobin, ThreadedProducer, sticky linger 0, 300 keyless records: {round_robin:?} ({round_robin_calls} calls)"
    );

    let fixed = Fixed::new(fixed_partition);
    let calls = fixed.calls.clone();
    let keyed: Vec<Option<&str>> = KEYS.iter().map(|k| Some(*k)).collect();
    let placed = send_with_partitioner(&default, topic, fixed, &keyed)?;
    let keyed_calls = calls.get();
    let keyed_in_fixed = placed.iter().filter(|p| **p == fixed_partition).count();
    println!(
        "  Fixed({fixed_partition}), ThreadedProducer, {} keyed records: partitions {placed:?} ({keyed_calls} calls)",
        KEYS.len(),
    );

    let fixed = Fixed::new(fixed_partition);
    let calls = fixed.calls.clone();
    let placed = send_with_partitioner(&default, topic, fixed, &[None; 50])?;
    let keyless_calls = calls.get();
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
    let future_calls = calls.get();
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
    summary(
        "custom",
        &[
            ("round_robin", join(&round_robin)),
            ("round_robin_calls", round_robin_calls.to_string()),
            ("threaded_keyed_in_fixed", keyed_in_fixed.to_string()),
            ("threaded_keyed_calls", keyed_calls.to_string()),
            ("threaded_keyless_calls", keyless_calls.to_string()),
            ("future_calls", future_calls.to_string()),
            (
                "future_placed_by",
                if placed == crc32 { "crc32" } else { "other" }.into(),
            ),
        ],
    );
    Ok(())
}

/// `[100, 100, 100]` as `100,100,100`, for a summary field.
fn join(values: &[impl ToString]) -> String {
    values
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
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
    let largest = sizes.iter().max().copied().unwrap_or(0);
    println!(
        "  least-bytes, 90 records of 100-999 bytes: bytes per partition {bytes:?} (largest record: {largest} bytes)"
    );
    let spread = bytes.iter().max().unwrap_or(&0) - bytes.iter().min().unwrap_or(&0);
    summary(
        "explicit",
        &[
            ("round_robin", join(&histogram(&placed, partitions))),
            ("least_bytes", join(&bytes)),
            ("least_bytes_spread", spread.to_string()),
            ("largest_record", largest.to_string()),
        ],
    );
    Ok(())
}

/// ③ kafka-go's Writer with its default Balancer, on the real broker.
async fn kafka_go_writer(cluster: &Cluster, topic: &str) {
    println!("\n③ kafka-go: a Writer with Balancer left unset writes key \"alice\" six times:");
    if cluster.is_mock() {
        println!("  (skipped: needs a real broker; the kafka-go Writer is a separate Go process)");
        summary(
            "kafka-go-writer",
            &[
                ("available", "no".into()),
                ("reason", "needs-real-broker".into()),
            ],
        );
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
            summary("kafka-go-writer", &[("partitions", join(&partitions))]);
            println!(
                "  → the default Balancer is round-robin: it ignores the key, so one key's records are\n\
                 \x20   spread over every partition and Kafka no longer keeps them in order. Set\n\
                 \x20   Balancer: &kafka.Hash{{}} (or another hashing balancer) when keys matter."
            );
        }
        Err(error) => {
            println!("  (not available: {error:#})");
            summary(
                "kafka-go-writer",
                &[
                    ("available", "no".into()),
                    ("reason", unavailable_reason(&error).into()),
                ],
            );
        }
    }
}

/// ② The cross-client trap, from the table above.
fn traps(columns: &[Column]) {
    println!("\n② The same key, different clients:");
    // Per pair: how many keys land in different partitions, or `missing`.
    let mut fields = Vec::new();
    let mut line = |a: &str, b: &str, field: &'static str| {
        let differ = disagreements(columns, a, b);
        match &differ {
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
        }
        fields.push((
            field,
            differ.map_or("missing".into(), |keys| keys.len().to_string()),
        ));
    };
    line(
        "consistent_random",
        "Java client",
        "consistent_random-vs-java",
    );
    line("murmur2_random", "Java client", "murmur2_random-vs-java");
    line(
        "consistent_random",
        "kafka-go Hash",
        "consistent_random-vs-kafka-go-hash",
    );
    line(
        "fnv1a_random",
        "kafka-go Hash",
        "fnv1a_random-vs-kafka-go-hash",
    );
    fields.push(("keys", KEYS.len().to_string()));
    summary("traps", &fields);
    println!(
        "  → producers sharing a topic must share the hash: partitioner=murmur2_random next to Java\n\
         \x20   producers, fnv1a_random next to kafka-go's Hash."
    );
}

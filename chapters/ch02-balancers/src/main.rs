//! 二.2 分区策略：从 Balancer 到 partitioner.
//!
//! Run: `cargo run -p ch02-balancers` against a broker on localhost:9092.
//! The Java and kafka-go columns need Java (the Kafka jars fetched by
//! `cargo xtask kafka up`) and Go; without them the columns say why.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Result;
use ch02_balancers::{
    PARTITIONERS, RoundRobin, java_placements, kafka_go_hash, placements, producer_config,
    send_least_bytes, send_round_robin, send_with_partitioner,
};
use clap::Parser;
use tutorial_support::testing::unique_name;
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective};

/// 二.2 分区策略: where each partitioner puts a key, compared with the Java client and kafka-go
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Number of partitions of the demo topics
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(2..=32))]
    partitions: i32,
}

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
    print_effective(
        "Producer settings that decide the partition:",
        &producer_config(cluster.bootstrap_servers(), "consistent_random"),
        &["partitioner", "sticky.partitioning.linger.ms"],
    )?;
    key_table(&cluster, args.partitions).await?;
    keyless(&cluster, args.partitions).await
}

async fn scratch(cluster: &Cluster, partitions: i32) -> Result<String> {
    let topic = unique_name("ch02-balancers");
    ensure_topic(cluster, &topic, partitions, 1, &[]).await?;
    Ok(topic)
}

/// ① The same keys under every partitioner, the Java client and kafka-go.
async fn key_table(cluster: &Cluster, partitions: i32) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let mut columns: Vec<(String, Result<BTreeMap<String, i32>>)> = Vec::new();
    for partitioner in PARTITIONERS {
        let topic = scratch(cluster, partitions).await?;
        columns.push((
            partitioner.into(),
            placements(bootstrap, &topic, partitioner, &KEYS).await,
        ));
        delete_topic(cluster, &topic).await?;
    }
    if cluster.is_mock() {
        columns.push((
            "Java client".into(),
            Err(anyhow::anyhow!("needs a real broker")),
        ));
    } else {
        let topic = scratch(cluster, partitions).await?;
        columns.push((
            "Java client".into(),
            java_placements(bootstrap, &topic, &KEYS).await,
        ));
        delete_topic(cluster, &topic).await?;
    }
    columns.push((
        "kafka-go Hash".into(),
        kafka_go_hash(&KEYS, partitions as usize),
    ));

    println!("\n① Partition of each key ({partitions} partitions):");
    print!("  {:<8}", "key");
    for (name, _) in &columns {
        print!(" {name:>18}");
    }
    println!();
    for key in KEYS {
        print!("  {key:<8}");
        for (_, column) in &columns {
            match column {
                Ok(map) => print!(" {:>18}", map[key]),
                Err(_) => print!(" {:>18}", "-"),
            }
        }
        println!();
    }
    for (name, column) in &columns {
        if let Err(error) = column {
            println!("  ({name}: not available: {error:#})");
        }
    }
    println!(
        "  → murmur2_random matches the Java client, fnv1a_random matches kafka-go's Hash;\n    the librdkafka default (CRC32) matches neither."
    );
    Ok(())
}

/// ② Keyless records: sticky by default, or a custom round-robin.
async fn keyless(cluster: &Cluster, partitions: i32) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let topic = scratch(cluster, partitions).await?;
    let keys = vec![None; 300];
    let round_robin = send_with_partitioner(bootstrap, &topic, RoundRobin::default(), &keys)?;
    println!(
        "\n② 300 keyless records, per partition:\n  custom round-robin partitioner (ThreadedProducer): {:?}",
        histogram(&round_robin, partitions)
    );
    let explicit = send_round_robin(bootstrap, &topic, partitions, 300).await?;
    println!(
        "  round-robin chosen by the application:              {:?}",
        histogram(&explicit, partitions)
    );
    let sizes: Vec<usize> = (0..90).map(|i| 100 + (i * 37) % 900).collect();
    let bytes = send_least_bytes(bootstrap, &topic, partitions as usize, &sizes).await?;
    println!(
        "③ 90 records of 100-999 bytes, least-bytes chosen by the application: bytes per partition {bytes:?}"
    );
    delete_topic(cluster, &topic).await?;
    Ok(())
}

fn histogram(partitions_of_records: &[i32], partitions: i32) -> Vec<usize> {
    let mut counts = vec![0; partitions as usize];
    for p in partitions_of_records {
        counts[*p as usize] += 1;
    }
    counts
}

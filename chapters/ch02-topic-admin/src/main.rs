//! 二.1 创建 Topic — the showcase of the Admin API: create, inspect, grow.
//!
//! Run: `cargo run -p ch02-topic-admin` against a broker on localhost:9092
//! (`cargo xtask kafka up`).

use std::process::ExitCode;

use anyhow::Result;
use ch02_topic_admin::lab::{moved, wait_for_partition_count, wait_until_visible};
use ch02_topic_admin::{
    Admin, Created, TopicSpec, admin_client, create_topic, describe_topic_configs, grow_partitions,
    key_placement,
};
use clap::Parser;
use rdkafka::admin::AdminOptions;
use tutorial_support::topics::unique_name;
use tutorial_support::{BrokerArgs, Cluster, init_tracing, summary};

/// 二.1 创建 Topic: create a topic with configs, read back what the broker applied, grow it
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Topic to create (kept afterwards)
    #[arg(long, default_value = "ch02-orders")]
    topic: String,
    /// Number of partitions
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=64))]
    partitions: i32,
    /// Replication factor [default: 3 if the cluster has 3 or more brokers, else 1]
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=16))]
    replication_factor: Option<i32>,
    /// How long the topic keeps records (topic config retention.ms)
    #[arg(long, default_value_t = 24 * 60 * 60 * 1000)]
    retention_ms: u64,
}

/// Keys used to show how growing a topic moves keys between partitions.
const KEYS: [&str; 6] = ["alice", "bob", "erin", "grace", "mallory", "sybil"];

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    cluster.require_real("the Admin API (CreateTopics, DescribeConfigs, CreatePartitions)")?;
    let admin = admin_client(cluster.bootstrap_servers())?;
    let spec = topic_spec(args, &cluster);
    create_and_describe(&admin, &spec, cluster.brokers().len()).await?;
    grow_and_watch_keys(&admin, &cluster).await
}

/// Replication 3 on a three-broker cluster, and `min.insync.replicas` one
/// below it: with acks=all a write then survives one broker being down.
fn topic_spec(args: &Args, cluster: &Cluster) -> TopicSpec {
    let replication = args
        .replication_factor
        .unwrap_or(if cluster.brokers().len() >= 3 { 3 } else { 1 });
    TopicSpec {
        name: args.topic.clone(),
        partitions: args.partitions,
        replication,
        configs: vec![
            (
                "min.insync.replicas".into(),
                (replication - 1).max(1).to_string(),
            ),
            ("retention.ms".into(), args.retention_ms.to_string()),
            ("cleanup.policy".into(), "delete".into()),
        ],
    }
}

/// ① create, ② read back the applied configs, ③ create again.
async fn create_and_describe(admin: &Admin, spec: &TopicSpec, brokers: usize) -> Result<()> {
    println!(
        "① CreateTopics {}: {} partition(s), replication factor {}, configs {}",
        spec.name,
        spec.partitions,
        spec.replication,
        spec.configs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let created = create_topic(admin, spec, brokers).await?;
    wait_until_visible(admin, &spec.name).await?;
    match created {
        Created::Created => println!("  created"),
        Created::AlreadyExists => println!(
            "  already exists: nothing changed (CreateTopics never modifies an existing topic)"
        ),
    }
    summary("create", &[("outcome", outcome(created).into())]);
    println!(
        "\n② DescribeConfigs {} (what the broker applied):",
        spec.name
    );
    let names = [
        "min.insync.replicas",
        "retention.ms",
        "cleanup.policy",
        "segment.bytes",
        "max.message.bytes",
    ];
    let applied = describe_topic_configs(admin, &spec.name, &names).await?;
    for config in &applied {
        let origin = if config.set_on_topic {
            "set on this topic"
        } else {
            "broker default"
        };
        println!("  {:<20} = {:<12} ({origin})", config.name, config.value);
    }
    // One field per config: its value, and `topic` or `broker` for its origin.
    let fields: Vec<(&str, String)> = applied
        .iter()
        .map(|c| {
            let origin = if c.set_on_topic { "topic" } else { "broker" };
            (c.name.as_str(), format!("{}({origin})", c.value))
        })
        .collect();
    summary("describe", &fields);
    println!("\n③ CreateTopics {} again:", spec.name);
    let again = create_topic(admin, spec, brokers).await?;
    println!(
        "  {}",
        if again == Created::AlreadyExists {
            "already exists: reported as an answer, not an error"
        } else {
            "created (it had been deleted meanwhile)"
        }
    );
    summary("create-again", &[("outcome", outcome(again).into())]);
    Ok(())
}

fn outcome(created: Created) -> &'static str {
    match created {
        Created::Created => "created",
        Created::AlreadyExists => "already_exists",
    }
}

/// ④ Growing a topic changes `partition = hash(key) % count` for new records.
async fn grow_and_watch_keys(admin: &Admin, cluster: &Cluster) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let scratch = TopicSpec {
        name: unique_name("ch02-grow"),
        partitions: 3,
        replication: 1,
        configs: vec![],
    };
    create_topic(admin, &scratch, cluster.brokers().len()).await?;
    let before = key_placement(bootstrap, &scratch.name, &KEYS).await?;
    grow_partitions(admin, &scratch.name, 4).await?;
    wait_for_partition_count(admin, &scratch.name, 4).await?;
    let after = key_placement(bootstrap, &scratch.name, &KEYS).await?;
    println!("\n④ CreatePartitions on a scratch topic: 3 → 4 partitions");
    let moved = moved(&KEYS, &before, &after);
    for key in KEYS {
        let (b, a) = (before[key], after[key]);
        let note = if a == b { "" } else { "  ← moved" };
        println!("  {key:<8} partition {b} → {a}{note}");
    }
    println!(
        "  {} of {} keys now go to a different partition: per-key order across the change is lost",
        moved.len(),
        KEYS.len()
    );
    let shrink = match grow_partitions(admin, &scratch.name, 2).await {
        Ok(()) => {
            println!("  shrinking to 2 partitions unexpectedly succeeded");
            "accepted"
        }
        Err(error) => {
            println!("  shrinking to 2: refused ({error})");
            "refused"
        }
    };
    summary(
        "grow",
        &[
            ("from", "3".into()),
            ("to", "4".into()),
            ("keys", KEYS.len().to_string()),
            ("moved", moved.len().to_string()),
            ("shrink_to_2", shrink.into()),
        ],
    );
    admin
        .delete_topics(&[&scratch.name], &AdminOptions::new())
        .await?;
    Ok(())
}

//! 三.1 消费者、消费者组与读循环 — the showcase.
//!
//! Run: `cargo run -p ch03-reader` against a broker on localhost:9092.
//! `--follow` keeps reading until Ctrl-C, then commits and leaves the group.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, bail};
use ch03_reader::lab::{Members, produce};
use ch03_reader::lesson::{group_config, join, read_from_offset, read_from_time, read_loop};
use clap::Parser;
use rdkafka::Message;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};
use tutorial_support::{
    BrokerArgs, Cluster, init_tracing, print_effective, shutdown_token, summary,
};

/// 三.1 消费者、消费者组与读循环: subscribe vs assign, seeking, auto.offset.reset, queue vs publish-subscribe
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// After the demo, follow a topic until Ctrl-C (then commit and leave the group)
    #[arg(long, value_name = "TOPIC")]
    follow: Option<String>,
    /// Group used with --follow
    #[arg(long, default_value = "ch03-follower")]
    group: String,
}

const SETTLE: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    if let Some(topic) = &args.follow {
        return follow(&cluster, topic, &args.group).await;
    }
    print_effective(
        "Group member settings:",
        &group_config(cluster.bootstrap_servers(), "example", None),
        &[
            "auto.offset.reset",
            "enable.auto.commit",
            "enable.auto.offset.store",
            "group.protocol",
        ],
    )?;
    let topic = unique_name("ch03-reader");
    ensure_topic(&cluster, &topic, 3, 1, &[]).await?;
    let base = now_ms() - 60_000;
    produce(cluster.bootstrap_servers(), &topic, 0, 30, Some(base)).await?;
    println!("\nProduced 30 records to {topic} (3 partitions), timestamps one second apart");
    new_groups_and_the_reset_policy(&cluster, &topic).await?;
    seek_without_a_group(&cluster, &topic, base).await?;
    delete_topic(&cluster, &topic).await?;
    queue_and_publish_subscribe(&cluster).await
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// ① A new group has no committed offsets: `auto.offset.reset` decides.
async fn new_groups_and_the_reset_policy(cluster: &Cluster, topic: &str) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let members = Members::start(vec![
        join(bootstrap, topic, &unique_name("ch03-default"), None)?,
        join(
            bootstrap,
            topic,
            &unique_name("ch03-earliest"),
            Some("earliest"),
        )?,
    ]);
    members.wait_until_assigned(SETTLE).await?;
    // Give the default group every chance to read the 30 existing records.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (latest_old, earliest_old) = (members.count(0), members.count(1));
    produce(bootstrap, topic, 30, 5, None).await?;
    members
        .wait_for_total(latest_old + earliest_old + 5 + 5, SETTLE)
        .await?;
    let [latest_total, earliest_total] = members.stop().await?[..] else {
        bail!("expected two members");
    };
    println!(
        "\n① Two new groups join a topic that already holds 30 records; then 5 more are produced:"
    );
    println!(
        "  auto.offset.reset=latest (librdkafka default): {latest_old} of the 30 old records, {latest_total} in total"
    );
    println!(
        "  auto.offset.reset=earliest:                    {earliest_old} of the 30 old records, {earliest_total} in total"
    );
    println!("  → a new group with the default silently skips everything written before it joined");
    summary(
        "reset-policy",
        &[
            ("old_records", "30".into()),
            ("latest_old", latest_old.to_string()),
            ("latest_total", latest_total.to_string()),
            ("earliest_old", earliest_old.to_string()),
            ("earliest_total", earliest_total.to_string()),
        ],
    );
    Ok(())
}

/// ② No group: read from an offset, or from a point in time.
async fn seek_without_a_group(cluster: &Cluster, topic: &str, base: i64) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let at_offset = read_from_offset(bootstrap, topic, 0, 3).await?;
    println!("\n② Without a group (assign):");
    println!(
        "  partition 0 from offset 3: first record is offset {} (payload {})",
        at_offset.offset(),
        String::from_utf8_lossy(at_offset.payload().unwrap_or_default())
    );
    summary(
        "seek-offset",
        &[
            ("requested", "3".into()),
            ("first", at_offset.offset().to_string()),
        ],
    );
    // librdkafka's mock cluster answers every ListOffsets by timestamp with
    // "no offset" (rdkafka_mock_handlers.c: "FIXME: by timestamp").
    cluster.require_real("offsets_for_times (ListOffsets by timestamp)")?;
    let at_time = read_from_time(bootstrap, topic, 0, base + 10_500).await?;
    let delta_ms = at_time.timestamp().to_millis().unwrap_or_default() - base;
    println!(
        "  partition 0 from time base+10.5 s: first record is offset {}, timestamp base+{delta_ms} ms",
        at_time.offset(),
    );
    summary(
        "seek-time",
        &[
            ("requested_ms", "10500".into()),
            ("first", at_time.offset().to_string()),
            ("timestamp_ms", delta_ms.to_string()),
        ],
    );
    Ok(())
}

/// ③ `group.id` decides: members of one group share the records, every
/// group gets all of them.
async fn queue_and_publish_subscribe(cluster: &Cluster) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    // An empty topic, so nothing is read while the groups form.
    let topic = unique_name("ch03-groups");
    ensure_topic(cluster, &topic, 3, 1, &[]).await?;
    let (billing, audit) = (unique_name("billing"), unique_name("audit"));
    let members = Members::start(vec![
        join(bootstrap, &topic, &billing, Some("earliest"))?,
        join(bootstrap, &topic, &billing, Some("earliest"))?,
        join(bootstrap, &topic, &audit, Some("earliest"))?,
    ]);
    members.wait_until_assigned(SETTLE).await?;
    produce(bootstrap, &topic, 0, 100, None).await?;
    members.wait_for_total(200, SETTLE).await?;
    let [billing_1, billing_2, audit] = members.stop().await?[..] else {
        bail!("expected three members");
    };
    println!("\n③ 100 records; group 'billing' has two members, group 'audit' one:");
    println!(
        "  billing: member 1 got {billing_1}, member 2 got {billing_2} (together {}: each record once — a queue)",
        billing_1 + billing_2
    );
    println!(
        "  audit:   its only member got {audit} (every group gets everything — publish-subscribe)"
    );
    summary(
        "groups",
        &[
            ("records", "100".into()),
            ("billing_1", billing_1.to_string()),
            ("billing_2", billing_2.to_string()),
            ("billing_total", (billing_1 + billing_2).to_string()),
            ("audit", audit.to_string()),
        ],
    );
    delete_topic(cluster, &topic).await?;
    Ok(())
}

/// `--follow`: the read loop until Ctrl-C.
async fn follow(cluster: &Cluster, topic: &str, group: &str) -> Result<()> {
    let consumer = join(cluster.bootstrap_servers(), topic, group, Some("earliest"))?;
    println!("Following {topic} as group {group}; Ctrl-C to stop");
    let stop = shutdown_token();
    let processed = read_loop(&consumer, &stop, |m| {
        println!(
            "  {}/{}@{}: {}",
            m.topic(),
            m.partition(),
            m.offset(),
            String::from_utf8_lossy(m.payload().unwrap_or_default())
        );
    })
    .await?;
    println!("stopped after {processed} records: offsets committed, group left");
    summary("follow", &[("processed", processed.to_string())]);
    Ok(())
}

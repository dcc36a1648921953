//! What other clients return from a topic our transactional producer wrote:
//! kafka-go's `Reader` (v0.4.51, `chapters/ch04-transactions/go`) and
//! Kafka's own console consumer (Java) with `--isolation-level
//! read_committed`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::producer::{BaseRecord, Producer};
use tutorial_lab::go::{FIRST_BUILD_LIMIT, GoProgram};
use tutorial_lab::process::run_bounded_async;
use tutorial_support::Cluster;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};

use crate::lesson::producer::{self, CALL_TIMEOUT};

/// The topic's layout: `committed-0..2` (commit marker at 3),
/// `aborted-0..2` (abort marker at 7), `committed-3..4` (commit marker at 10).
pub const COMMITTED: [&str; 5] = [
    "committed-0",
    "committed-1",
    "committed-2",
    "committed-3",
    "committed-4",
];
/// Data records plus the three transaction markers.
pub const LOG_END: i64 = 11;

/// One message as kafka-go's Reader returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoMessage {
    pub offset: i64,
    pub key_hex: String,
    pub value: String,
}

/// What each client returned.
#[derive(Debug, Clone)]
pub struct PeerViews {
    pub kafka_go_committed: Vec<GoMessage>,
    pub kafka_go_uncommitted: Vec<GoMessage>,
    /// Values printed by the console consumer with read_committed.
    pub java_committed: Vec<String>,
}

fn write_mixed(bootstrap: &str, topic: &str) -> Result<()> {
    let id = unique_name("ch04-txn-peers");
    let producer = producer::create(&producer::producer_config(bootstrap, &id))?;
    let batches: [(&[&str], bool); 3] = [
        (&COMMITTED[..3], true),
        (&["aborted-0", "aborted-1", "aborted-2"], false),
        (&COMMITTED[3..], true),
    ];
    for (payloads, commit) in batches {
        producer.begin_transaction()?;
        for payload in payloads {
            producer
                .send(
                    BaseRecord::<(), _>::to(topic)
                        .payload(*payload)
                        .partition(0),
                )
                .map_err(|(error, _)| error)?;
        }
        producer.flush(CALL_TIMEOUT)?;
        if commit {
            producer.commit_transaction(CALL_TIMEOUT)?;
        } else {
            producer.abort_transaction(CALL_TIMEOUT)?;
        }
    }
    Ok(())
}

/// Writes the mixed topic, then reads it with kafka-go (both isolation
/// levels) and with the Java console consumer (read_committed).
pub async fn compare(cluster: &Cluster) -> Result<PeerViews> {
    let topic = unique_name("ch04-txn-peers");
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    let bootstrap = cluster.bootstrap_servers().to_string();
    {
        let (bootstrap, topic) = (bootstrap.clone(), topic.clone());
        tokio::task::spawn_blocking(move || write_mixed(&bootstrap, &topic)).await??;
    }
    let views = PeerViews {
        kafka_go_committed: kafka_go(&bootstrap, &topic, "committed").await?,
        kafka_go_uncommitted: kafka_go(&bootstrap, &topic, "uncommitted").await?,
        java_committed: console_consumer(&bootstrap, &topic).await?,
    };
    delete_topic(cluster, &topic).await?;
    Ok(views)
}

/// The chapter's Go program: `go run . read -isolation committed|uncommitted`.
pub async fn kafka_go(bootstrap: &str, topic: &str, isolation: &str) -> Result<Vec<GoMessage>> {
    let program = GoProgram::new(concat!(env!("CARGO_MANIFEST_DIR"), "/go"));
    let args = [
        "read",
        "-brokers",
        bootstrap,
        "-topic",
        topic,
        "-isolation",
        isolation,
    ];
    let captured = program.run(&args, FIRST_BUILD_LIMIT).await?;
    if !captured.success() {
        bail!("the kafka-go reader failed:\n{}", captured.text());
    }
    let mut messages = Vec::new();
    for line in captured.stdout.lines() {
        let Some(rest) = line.strip_prefix("offset=") else {
            continue;
        };
        let (offset, rest) = rest.split_once(" key=").context("a key= field")?;
        let (key_hex, value) = rest.split_once(" value=").context("a value= field")?;
        messages.push(GoMessage {
            offset: offset.parse()?,
            key_hex: key_hex.to_string(),
            value: value.to_string(),
        });
    }
    Ok(messages)
}

/// `kafka-console-consumer --isolation-level read_committed`, from the
/// beginning, until 10 s pass without a record.
pub async fn console_consumer(bootstrap: &str, topic: &str) -> Result<Vec<String>> {
    let mut command = kafka_layout::tool_command("console-consumer")?;
    command.args([
        "--bootstrap-server",
        bootstrap,
        "--topic",
        topic,
        "--from-beginning",
        "--isolation-level",
        "read_committed",
        "--timeout-ms",
        "10000",
    ]);
    let captured = run_bounded_async(
        command,
        Duration::from_secs(90),
        "Kafka's console consumer",
        "run `cargo xtask kafka up` once to fetch the Kafka jars",
    )
    .await?;
    // It exits non-zero (a TimeoutException) when --timeout-ms ends the read.
    if !captured.stderr.contains("Processed a total of") {
        bail!(
            "the console consumer did not finish its read:\n{}",
            captured.text()
        );
    }
    Ok(captured.stdout.lines().map(str::to_string).collect())
}

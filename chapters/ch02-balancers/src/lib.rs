//! Chapter 二.2: which partition a record goes to.
//!
//! Keyed records are hashed; *which* hash decides whether a Rust producer
//! and a Java or Go producer agree on the partition of the same key.
//! Keyless records are spread by the partitioner (or stick to one partition
//! for a while). And when no built-in rule fits, a custom partitioner.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{
    BaseRecord, FutureProducer, FutureRecord, Partitioner, Producer, ProducerContext,
    ThreadedProducer,
};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// librdkafka's built-in partitioners compared in this chapter.
pub const PARTITIONERS: [&str; 3] = ["consistent_random", "murmur2_random", "fnv1a_random"];

// ANCHOR: producer_config
/// A producer using one of librdkafka's partitioners:
/// - `consistent_random` (default): CRC32 of the key; keyless → any partition;
/// - `murmur2_random`: murmur2 of the key, what the Java client does;
/// - `fnv1a_random`: FNV-1a of the key, what kafka-go's `Hash` and sarama do;
/// - `random`: ignores the key.
pub fn producer_config(bootstrap: &str, partitioner: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", partitioner)
        .set("message.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

/// Sends one record per key (payload = key) and returns where each landed.
pub async fn placements(
    bootstrap: &str,
    topic: &str,
    partitioner: &str,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    let producer: FutureProducer = producer_config(bootstrap, partitioner).create()?;
    let sends = keys.iter().map(|k| {
        producer.send(
            FutureRecord::to(topic).key(*k).payload(*k),
            Duration::from_secs(30),
        )
    });
    let mut placed = BTreeMap::new();
    for (key, result) in keys.iter().zip(futures::future::join_all(sends).await) {
        let delivery = result.map_err(|(e, _)| e)?;
        placed.insert((*key).to_string(), delivery.partition);
    }
    Ok(placed)
}

// ANCHOR: round_robin
/// A custom partitioner: round-robin, skipping partitions without a leader.
/// librdkafka calls it from its own threads, so it must be cheap and
/// thread-safe — and it "may be called multiple times for the same message",
/// so a counter in a partitioner drifts: the spread is only roughly even.
#[derive(Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl Partitioner for RoundRobin {
    fn partition(
        &self,
        _topic: &str,
        _key: Option<&[u8]>,
        partition_cnt: i32,
        is_available: impl Fn(i32) -> bool,
    ) -> i32 {
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        // Prefer the next partition in turn; skip ones without a leader.
        (0..partition_cnt as usize)
            .map(|step| ((first + step) % partition_cnt as usize) as i32)
            .find(|p| is_available(*p))
            .unwrap_or((first % partition_cnt as usize) as i32)
    }
}
// ANCHOR_END: round_robin

// ANCHOR: custom_context
/// Hands the custom partitioner to librdkafka and records where every
/// record was delivered. Only `BaseProducer`/`ThreadedProducer` ask their
/// context for a partitioner; `FutureProducer` wraps its own context, which
/// never returns one (rust-rdkafka issue #741).
pub struct WithPartitioner<P> {
    partitioner: P,
    delivered_to: Mutex<Vec<i32>>,
}

impl<P: Send + Sync> ClientContext for WithPartitioner<P> {}

impl<P: Partitioner + Send + Sync> ProducerContext<P> for WithPartitioner<P> {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Ok(message) = result {
            self.delivered_to
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(message.partition());
        }
    }

    fn get_custom_partitioner(&self) -> Option<&P> {
        Some(&self.partitioner)
    }
}

/// Sends `keys` (None = keyless) with a custom partitioner; returns the
/// partition of every delivered record.
pub fn send_with_partitioner<P>(
    bootstrap: &str,
    topic: &str,
    partitioner: P,
    keys: &[Option<String>],
) -> Result<Vec<i32>>
where
    P: Partitioner + Send + Sync + 'static,
{
    let mut config = producer_config(bootstrap, "consistent_random");
    // librdkafka only consults a custom partitioner for keyless records when
    // sticky partitioning is off.
    config.set("sticky.partitioning.linger.ms", "0");
    let context = WithPartitioner {
        partitioner,
        delivered_to: Mutex::new(Vec::new()),
    };
    let producer: ThreadedProducer<WithPartitioner<P>, P> = config.create_with_context(context)?;
    for key in keys {
        let mut record = BaseRecord::<str, str>::to(topic).payload("x");
        if let Some(key) = key.as_deref() {
            record = record.key(key);
        }
        producer.send(record).map_err(|(e, _)| e)?;
    }
    producer.flush(Duration::from_secs(30))?;
    let delivered = producer
        .context()
        .delivered_to
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(delivered)
}
// ANCHOR_END: custom_context

/// A partitioner that always answers the same partition — the simplest way
/// to see whether a producer really applies a custom partitioner.
pub struct Fixed(pub i32);

impl Partitioner for Fixed {
    fn partition(&self, _: &str, _: Option<&[u8]>, _: i32, _: impl Fn(i32) -> bool) -> i32 {
        self.0
    }
}

// ANCHOR: explicit_round_robin
/// Exact round-robin is an application decision: choose the partition
/// yourself and put it on the record; no partitioner is consulted then.
pub async fn send_round_robin(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
) -> Result<Vec<i32>> {
    let producer: FutureProducer = producer_config(bootstrap, "consistent_random").create()?;
    let sends = (0..count).map(|i| {
        let record = FutureRecord::<(), _>::to(topic)
            .partition(i as i32 % partitions)
            .payload("x");
        producer.send(record, Duration::from_secs(30))
    });
    futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.map(|d| d.partition).map_err(|(e, _)| e.into()))
        .collect()
}
// ANCHOR_END: explicit_round_robin

// ANCHOR: least_bytes
/// kafka-go's `LeastBytes` sends each record to the partition that received
/// the fewest bytes so far. A librdkafka partitioner never sees the payload,
/// so this choice is made in the application and passed as an explicit
/// partition on the record.
#[derive(Debug, Default)]
pub struct LeastBytes {
    bytes: Vec<u64>,
}

impl LeastBytes {
    pub fn new(partitions: usize) -> Self {
        LeastBytes {
            bytes: vec![0; partitions],
        }
    }

    pub fn choose(&mut self, payload_len: usize) -> i32 {
        let (partition, _) = self
            .bytes
            .iter()
            .enumerate()
            .min_by_key(|(_, b)| **b)
            .unwrap_or((0, &0));
        self.bytes[partition] += payload_len as u64;
        partition as i32
    }

    pub fn totals(&self) -> &[u64] {
        &self.bytes
    }
}
// ANCHOR_END: least_bytes

/// Sends payloads of the given sizes with [`LeastBytes`]; returns the byte
/// totals per partition as stored by the broker.
pub async fn send_least_bytes(
    bootstrap: &str,
    topic: &str,
    partitions: usize,
    sizes: &[usize],
) -> Result<Vec<u64>> {
    let producer: FutureProducer = producer_config(bootstrap, "consistent_random").create()?;
    let mut chooser = LeastBytes::new(partitions);
    let mut stored = vec![0u64; partitions];
    for size in sizes {
        let payload = vec![b'x'; *size];
        let partition = chooser.choose(*size);
        let record = FutureRecord::<(), _>::to(topic)
            .partition(partition)
            .payload(&payload);
        let delivery = producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| e)?;
        stored[delivery.partition as usize] += *size as u64;
    }
    Ok(stored)
}

// ANCHOR: java_placements
/// The Java client's choice: Kafka's own console producer (from the same
/// jars as the broker) writes `key:key` lines; we read back where each key
/// landed.
pub async fn java_placements(
    bootstrap: &str,
    topic: &str,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    let mut child = tutorial_support::kafka_tools::tool_command("console-producer")?
        .args(["--bootstrap-server", bootstrap, "--topic", topic])
        .args([
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the Java console producer")?;
    {
        let mut stdin = child.stdin.take().context("console producer stdin")?;
        for key in keys {
            writeln!(stdin, "{key}:{key}")?;
        }
    } // closing stdin ends the console producer after it flushed
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "the console producer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    read_placements(bootstrap, topic, keys.len()).await
}
// ANCHOR_END: java_placements

/// Reads `count` records from every partition; payload = key → partition.
pub async fn read_placements(
    bootstrap: &str,
    topic: &str,
    count: usize,
) -> Result<BTreeMap<String, i32>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ch02-balancers-reader")
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut assignment = TopicPartitionList::new();
    for p in metadata.topics()[0].partitions() {
        assignment.add_partition_offset(topic, p.id(), Offset::Beginning)?;
    }
    consumer.assign(&assignment)?;
    let mut placed = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while placed.len() < count {
        if Instant::now() > deadline {
            bail!("read {} of {count} records within 30 s", placed.len());
        }
        match consumer.poll(Duration::ZERO) {
            Some(message) => {
                let message = message?;
                let key =
                    String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
                placed.insert(key, message.partition());
            }
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    Ok(placed)
}

// ANCHOR: kafka_go_hash
/// kafka-go's `Hash` balancer, asked directly: a small Go program in this
/// chapter (`go/main.go`) prints the partition it picks for each key.
pub fn kafka_go_hash(keys: &[&str], partitions: usize) -> Result<BTreeMap<String, i32>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go");
    let output = Command::new("go")
        .args(["run", ".", "-partitions", &partitions.to_string()])
        .args(keys)
        .current_dir(&dir)
        .output()
        .context("running `go` (install Go to compare with kafka-go)")?;
    if !output.status.success() {
        bail!(
            "the kafka-go program failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8(output.stdout)?
        .lines()
        .map(|line| {
            let (key, partition) = line.split_once(' ').context("malformed line")?;
            Ok((key.to_string(), partition.parse()?))
        })
        .collect()
}
// ANCHOR_END: kafka_go_hash

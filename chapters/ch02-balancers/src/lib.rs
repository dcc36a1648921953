//! Chapter 二.3: which partition a record goes to.
//!
//! A keyed record is placed by a hash of its key; *which* hash decides
//! whether a Rust producer agrees with a Java or a Go producer on the
//! partition of the same key. A keyless record is placed by the sticky
//! partitioner (one random partition for a few milliseconds, then another).
//! When no built-in rule fits, a custom partitioner — which only
//! `BaseProducer`/`ThreadedProducer` apply, never `FutureProducer`.
//!
//! `main.rs` tells the story; the tests prove every claim on a real broker,
//! with Kafka's own Java client and kafka-go as the other side of the
//! cross-client comparisons.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{
    BaseRecord, DeliveryFuture, FutureProducer, FutureRecord, Partitioner, Producer,
    ProducerContext, ThreadedProducer,
};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::io::AsyncWriteExt;

/// Bound for every single request to the cluster in this chapter.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound for a record's delivery report (`message.timeout.ms` + margin).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(35);

/// librdkafka's partitioners that hash the key (and pick a random partition
/// for a keyless record).
pub const HASHING_PARTITIONERS: [&str; 3] = ["consistent_random", "murmur2_random", "fnv1a_random"];

// ---------------------------------------------------------------------------
// Built-in partitioners
// ---------------------------------------------------------------------------

// ANCHOR: producer_config
/// A producer using one of librdkafka's built-in partitioners:
/// - `consistent_random` (the default): CRC32 of the key; keyless → random;
/// - `murmur2_random`: murmur2 of the key, what the Java client does;
/// - `fnv1a_random`: FNV-1a of the key, what kafka-go's `Hash` and sarama do;
/// - `random`: ignores the key, a random partition for every keyed record.
///
/// "Random" for keyless records is refined by `sticky.partitioning.linger.ms`
/// (default 10 ms) under all four: one random partition is kept for that
/// long, so keyless records fill one batch instead of many small ones.
pub fn producer_config(bootstrap: &str, partitioner: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("partitioner", partitioner)
        // Bound the wait: by default librdkafka retries for 5 minutes.
        .set("message.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: send_all
/// Sends one record per entry of `keys` (`None` = no key) and returns the
/// partition of each, in send order, from the delivery reports.
///
/// A first record with an explicit partition warms the producer up: until
/// librdkafka has the topic's metadata it cannot run a partitioner at all,
/// and parks records in an "unassigned" queue to partition them later in
/// one go. After the warm-up every record is partitioned the moment it is
/// enqueued, which is what the timing experiments below rely on.
pub async fn send_all(
    config: &ClientConfig,
    topic: &str,
    keys: &[Option<&str>],
    gap: Duration,
) -> Result<Vec<i32>> {
    let producer: FutureProducer = config.create()?;
    let warm_up = FutureRecord::<(), _>::to(topic)
        .partition(0)
        .payload("warm-up");
    await_delivery(producer.send_result(warm_up).map_err(|(e, _)| e)?).await?;

    let mut deliveries = Vec::with_capacity(keys.len());
    for key in keys {
        let payload = key.unwrap_or("-");
        let mut record = FutureRecord::to(topic).payload(payload);
        if let Some(key) = key {
            record = record.key(*key);
        }
        // `send_result` enqueues now (that is when the partition is chosen)
        // and hands back the delivery future.
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e)?);
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
    }
    let mut partitions = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        partitions.push(await_delivery(delivery).await?);
    }
    Ok(partitions)
}
// ANCHOR_END: send_all

async fn await_delivery(delivery: DeliveryFuture) -> Result<i32> {
    let report = tokio::time::timeout(DELIVERY_TIMEOUT, delivery)
        .await
        .with_context(|| format!("no delivery report within {DELIVERY_TIMEOUT:?}"))?
        .context("the producer was dropped before the delivery report")?;
    let delivered = report.map_err(|(e, _)| e).context("delivery failed")?;
    Ok(delivered.partition)
}

/// Where `partitioner` puts each of `keys`: one record per key.
pub async fn placements(
    bootstrap: &str,
    topic: &str,
    partitioner: &str,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    let config = producer_config(bootstrap, partitioner);
    let with_keys: Vec<Option<&str>> = keys.iter().map(|k| Some(*k)).collect();
    let partitions = send_all(&config, topic, &with_keys, Duration::ZERO).await?;
    Ok(keys
        .iter()
        .map(|k| (*k).to_string())
        .zip(partitions)
        .collect())
}

/// Records per partition: `counts[p]` records went to partition `p`.
pub fn histogram(partitions_of_records: &[i32], partitions: i32) -> Vec<usize> {
    let mut counts = vec![0; partitions.max(0) as usize];
    for &p in partitions_of_records {
        if let Some(count) = usize::try_from(p).ok().and_then(|p| counts.get_mut(p)) {
            *count += 1;
        }
    }
    counts
}

/// How often the partition changed from one record to the next, in send order.
pub fn switches(partitions_of_records: &[i32]) -> usize {
    partitions_of_records
        .windows(2)
        .filter(|w| w[0] != w[1])
        .count()
}

// ---------------------------------------------------------------------------
// Custom partitioners
// ---------------------------------------------------------------------------

/// How often librdkafka consulted a partitioner. Shared, so it can still be
/// read after the partitioner was handed to a producer.
#[derive(Debug, Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn record(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

// ANCHOR: round_robin
/// A custom partitioner: strict turns over the partitions, skipping any
/// without a leader. librdkafka may call it from any thread (the sender's or
/// one of its own), so it must be cheap, non-blocking and thread-safe; an
/// atomic counter is all it needs.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
    pub calls: Calls,
}

impl Partitioner for RoundRobin {
    fn partition(
        &self,
        _topic: &str,
        _key: Option<&[u8]>,
        partition_cnt: i32,
        is_available: impl Fn(i32) -> bool,
    ) -> i32 {
        self.calls.record();
        let count = partition_cnt.max(1) as usize;
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count)
            .map(|step| ((first + step) % count) as i32)
            .find(|p| is_available(*p))
            .unwrap_or((first % count) as i32)
    }
}
// ANCHOR_END: round_robin

/// A partitioner that always answers the same partition: the simplest way
/// to see whether a producer really applies a custom partitioner.
#[derive(Debug, Default)]
pub struct Fixed {
    pub partition: i32,
    pub calls: Calls,
}

impl Fixed {
    pub fn new(partition: i32) -> Self {
        Fixed {
            partition,
            calls: Calls::default(),
        }
    }
}

impl Partitioner for Fixed {
    fn partition(&self, _: &str, _: Option<&[u8]>, _: i32, _: impl Fn(i32) -> bool) -> i32 {
        self.calls.record();
        self.partition
    }
}

// ANCHOR: custom_context
/// The producer context hands the custom partitioner to librdkafka
/// (`get_custom_partitioner`) and records where every record was delivered,
/// or why not (the delivery opaque is the record's index in send order).
pub struct WithPartitioner<P> {
    partitioner: P,
    delivered: Mutex<Vec<(usize, Result<i32, KafkaError>)>>,
}

impl<P> WithPartitioner<P> {
    pub fn new(partitioner: P) -> Self {
        WithPartitioner {
            partitioner,
            delivered: Mutex::new(Vec::new()),
        }
    }
}

impl<P: Send + Sync> ClientContext for WithPartitioner<P> {}

impl<P: Partitioner + Send + Sync> ProducerContext<P> for WithPartitioner<P> {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let outcome = match result {
            Ok(message) => Ok(message.partition()),
            Err((error, _)) => Err(error.clone()),
        };
        let mut delivered = self.delivered.lock().unwrap_or_else(|e| e.into_inner());
        delivered.push((index, outcome));
    }

    fn get_custom_partitioner(&self) -> Option<&P> {
        Some(&self.partitioner)
    }
}
// ANCHOR_END: custom_context

// ANCHOR: threaded_producer
/// Sends one record per entry of `keys` (`None` = no key) through a
/// `ThreadedProducer` whose context carries `partitioner`; returns the
/// partition of each record in send order.
///
/// `BaseProducer::from_config_and_context` asks the context for a
/// partitioner and registers it with librdkafka, so this producer uses it
/// for keyed records. Keyless records reach it only if
/// `sticky.partitioning.linger.ms` is 0: otherwise librdkafka's sticky
/// logic places them and never calls the custom partitioner.
pub fn send_with_partitioner<P>(
    config: &ClientConfig,
    topic: &str,
    partitioner: P,
    keys: &[Option<&str>],
) -> Result<Vec<i32>>
where
    P: Partitioner + Send + Sync + 'static,
{
    let producer: ThreadedProducer<WithPartitioner<P>, P> =
        config.create_with_context(WithPartitioner::new(partitioner))?;
    // Warm-up with an explicit partition (no partitioner involved), so the
    // topic's metadata is known before the measured records.
    producer
        .send(
            BaseRecord::<(), str, usize>::with_opaque_to(topic, usize::MAX)
                .partition(0)
                .payload("warm-up"),
        )
        .map_err(|(e, _)| e)?;
    producer.flush(DELIVERY_TIMEOUT)?;
    for (index, key) in keys.iter().enumerate() {
        let mut record = BaseRecord::with_opaque_to(topic, index).payload("x");
        if let Some(key) = key {
            record = record.key(*key);
        }
        producer.send(record).map_err(|(e, _)| e)?;
    }
    producer.flush(DELIVERY_TIMEOUT)?;
    // flush() returns once librdkafka handed out the last delivery report;
    // the producer's polling thread may still be running our callback.
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        let mut delivered = producer
            .context()
            .delivered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        delivered.retain(|(index, _)| *index != usize::MAX);
        if delivered.len() == keys.len() {
            delivered.sort_unstable_by_key(|(index, _)| *index);
            return delivered
                .into_iter()
                .map(|(index, outcome)| {
                    outcome.with_context(|| format!("delivering record {index}"))
                })
                .collect();
        }
        if Instant::now() > deadline {
            bail!(
                "{} of {} delivery reports arrived",
                delivered.len(),
                keys.len()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
// ANCHOR_END: threaded_producer

// ANCHOR: future_producer_ignores
/// The same context, given to a `FutureProducer`. It compiles and runs — and
/// the partitioner is never asked: `FutureProducer` wraps the context in its
/// own `FutureProducerContext`, whose `get_custom_partitioner` is the trait's
/// default `None` (rust-rdkafka issue #741). The records are placed by the
/// `partitioner` setting instead.
pub async fn send_through_future_producer<P>(
    config: &ClientConfig,
    topic: &str,
    partitioner: P,
    keys: &[&str],
) -> Result<Vec<i32>>
where
    P: Partitioner + Send + Sync + 'static,
{
    let producer: FutureProducer<WithPartitioner<P>> =
        config.create_with_context(WithPartitioner::new(partitioner))?;
    let mut deliveries = Vec::with_capacity(keys.len());
    for key in keys {
        let record = FutureRecord::to(topic).key(*key).payload(*key);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e)?);
    }
    let mut partitions = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        partitions.push(await_delivery(delivery).await?);
    }
    Ok(partitions)
}
// ANCHOR_END: future_producer_ignores

// ---------------------------------------------------------------------------
// Choices made by the application: explicit partitions
// ---------------------------------------------------------------------------

// ANCHOR: explicit_round_robin
/// Round-robin decided by the application: the record names its partition,
/// and librdkafka runs no partitioner at all. Works with any producer,
/// `FutureProducer` included.
pub async fn send_round_robin(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    count: usize,
) -> Result<Vec<i32>> {
    let producer: FutureProducer = producer_config(bootstrap, "consistent_random").create()?;
    let mut deliveries = Vec::with_capacity(count);
    for i in 0..count {
        let record = FutureRecord::<(), _>::to(topic)
            .partition((i % partitions as usize) as i32)
            .payload("x");
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e)?);
    }
    let mut placed = Vec::with_capacity(count);
    for delivery in deliveries {
        placed.push(await_delivery(delivery).await?);
    }
    Ok(placed)
}
// ANCHOR_END: explicit_round_robin

// ANCHOR: least_bytes
/// kafka-go's `LeastBytes`: each record goes to the partition that received
/// the fewest bytes so far. A librdkafka partitioner is given the topic, the
/// key and the partition count — never the payload — so this choice is made
/// by the application and written on the record as an explicit partition.
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

    /// The partition for a record of `size` bytes (ties: the lowest number).
    pub fn choose(&mut self, size: usize) -> i32 {
        let Some((partition, _)) = self.bytes.iter().enumerate().min_by_key(|(_, b)| **b) else {
            return 0;
        };
        self.bytes[partition] += size as u64;
        partition as i32
    }
}
// ANCHOR_END: least_bytes

/// Sends payloads of the given sizes, each to the partition [`LeastBytes`]
/// chooses; returns the payload bytes per partition as the broker's delivery
/// reports place them.
pub async fn send_least_bytes(
    bootstrap: &str,
    topic: &str,
    partitions: usize,
    sizes: &[usize],
) -> Result<Vec<u64>> {
    let producer: FutureProducer = producer_config(bootstrap, "consistent_random").create()?;
    let mut chooser = LeastBytes::new(partitions);
    let payloads: Vec<Vec<u8>> = sizes.iter().map(|size| vec![b'x'; *size]).collect();
    let mut deliveries = Vec::with_capacity(sizes.len());
    for payload in &payloads {
        let record = FutureRecord::<(), _>::to(topic)
            .partition(chooser.choose(payload.len()))
            .payload(payload);
        deliveries.push((
            payload.len(),
            producer.send_result(record).map_err(|(e, _)| e)?,
        ));
    }
    let mut stored = vec![0u64; partitions];
    for (size, delivery) in deliveries {
        let partition = await_delivery(delivery).await?;
        stored[partition as usize] += size as u64;
    }
    Ok(stored)
}

// ---------------------------------------------------------------------------
// The other clients: Java (Kafka's own) and kafka-go
// ---------------------------------------------------------------------------

/// The end offset (high watermark) of every partition: where the records
/// written from now on will start. Right after a topic was created a broker
/// may still answer "not leader" for a moment, so this retries briefly.
pub async fn end_offsets(bootstrap: &str, topic: &str) -> Result<BTreeMap<i32, i64>> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    loop {
        match query_end_offsets(&client, topic) {
            Ok(ends) => return Ok(ends),
            Err(error) if Instant::now() > deadline => {
                return Err(error.context(format!("end offsets of {topic}")));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

fn query_end_offsets(client: &BaseConsumer, topic: &str) -> Result<BTreeMap<i32, i64>> {
    let metadata = client.fetch_metadata(Some(topic), REQUEST_TIMEOUT)?;
    let Some(topic_metadata) = metadata.topics().first() else {
        bail!("no metadata for topic {topic}");
    };
    let mut ends = BTreeMap::new();
    for p in topic_metadata.partitions() {
        let (_, high) = client.fetch_watermarks(topic, p.id(), REQUEST_TIMEOUT)?;
        ends.insert(p.id(), high);
    }
    if ends.is_empty() {
        bail!("topic {topic} has no partitions (does it exist?)");
    }
    Ok(ends)
}

/// A record written by another client, read back: its key, its position in
/// the order it was written (the value), and the partition it landed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub key: String,
    pub index: usize,
    pub partition: i32,
}

/// Reads `count` records starting at `from` (per partition), without joining
/// a consumer group, and returns them in the order they were written (their
/// value is their index). A consumer reads partition by partition, so the
/// order it sees is not the write order.
pub async fn read_landed(
    bootstrap: &str,
    topic: &str,
    from: &BTreeMap<i32, i64>,
    count: usize,
) -> Result<Vec<Landed>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka wants a group.id even for assign(), which never joins it.
        .set("group.id", "ch02-balancers-reader")
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    for (&partition, &offset) in from {
        assignment.add_partition_offset(topic, partition, Offset::Offset(offset))?;
    }
    consumer.assign(&assignment)?;
    let limit = Duration::from_secs(30);
    let deadline = Instant::now() + limit;
    let mut landed = Vec::with_capacity(count);
    while landed.len() < count {
        if Instant::now() > deadline {
            bail!(
                "read {} of {count} records from {topic} within {limit:?}",
                landed.len()
            );
        }
        match consumer.poll(Duration::ZERO) {
            Some(message) => {
                let message = message?;
                let value = String::from_utf8_lossy(message.payload().unwrap_or_default());
                landed.push(Landed {
                    key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                    index: value
                        .parse()
                        .with_context(|| format!("unexpected value {value:?} in {topic}"))?,
                    partition: message.partition(),
                });
            }
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    landed.sort_by_key(|l| l.index);
    Ok(landed)
}

fn into_map(landed: Vec<Landed>) -> BTreeMap<String, i32> {
    landed.into_iter().map(|l| (l.key, l.partition)).collect()
}

// ANCHOR: java_placements
/// The Java client's choice: Kafka's own console producer (from the same
/// jars as the broker, default settings) turns each `key:index` line into a
/// record with that key; an rdkafka consumer then reads where each landed.
pub async fn java_placements(
    bootstrap: &str,
    topic: &str,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    let from = end_offsets(bootstrap, topic).await?;
    let console_producer = kafka_layout::tool_command("console-producer")?;
    let mut child = tokio::process::Command::from(console_producer)
        .args(["--bootstrap-server", bootstrap, "--topic", topic])
        .args(["--reader-property", "parse.key=true"])
        .args(["--reader-property", "key.separator=:"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting Kafka's Java console producer")?;
    let mut stdin = child.stdin.take().context("console producer stdin")?;
    let lines: String = keys
        .iter()
        .enumerate()
        .map(|(index, key)| format!("{key}:{index}\n"))
        .collect();
    stdin.write_all(lines.as_bytes()).await?;
    drop(stdin); // EOF: the console producer flushes its records, then exits
    wait_with_limit(child, Duration::from_secs(60), "the Java console producer").await?;
    Ok(into_map(
        read_landed(bootstrap, topic, &from, keys.len()).await?,
    ))
}
// ANCHOR_END: java_placements

/// Waits for a child process to finish and checks its exit status; the
/// child is killed (`kill_on_drop`) if it takes longer than `limit`.
async fn wait_with_limit(
    child: tokio::process::Child,
    limit: Duration,
    what: &str,
) -> Result<std::process::Output> {
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .with_context(|| format!("{what} did not finish within {limit:?}"))??;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

/// Where the chapter's Go program lives.
pub fn go_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go")
}

/// Runs `go run . ARGS…` in the chapter's Go program and returns what it
/// printed, or a clear error if Go is missing.
async fn run_go(args: &[&str], what: &str) -> Result<String> {
    let child = tokio::process::Command::new("go")
        .args(["run", "."])
        .args(args)
        .current_dir(go_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(error) => bail!(
            "cannot run `go` ({error}): the kafka-go comparison runs the Go program in {}; \
             install Go 1.23 or newer (https://go.dev/dl/) and make sure `go` is on the PATH",
            go_dir().display()
        ),
    };
    // The first run compiles kafka-go; later runs come from Go's build cache.
    let output = wait_with_limit(child, Duration::from_secs(180), what).await?;
    Ok(String::from_utf8(output.stdout)?)
}

/// A kafka-go balancer that hashes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoHashBalancer {
    /// `&kafka.Hash{}`: FNV-1a.
    Hash,
    /// `kafka.Murmur2Balancer{}`
    Murmur2,
    /// `kafka.CRC32Balancer{}`
    Crc32,
}

// ANCHOR: kafka_go_hash
/// A kafka-go balancer, asked directly: the chapter's Go program
/// (`go/main.go`) calls `balancer.Balance(kafka.Message{Key: ...}, 0, 1, …)`
/// for each key and prints the partition — no broker involved.
pub async fn kafka_go_balance(
    balancer: GoHashBalancer,
    keys: &[&str],
    partitions: i32,
) -> Result<BTreeMap<String, i32>> {
    let name = match balancer {
        GoHashBalancer::Hash => "hash",
        GoHashBalancer::Murmur2 => "murmur2",
        GoHashBalancer::Crc32 => "crc32",
    };
    let partitions = partitions.to_string();
    let mut args = vec!["hash", "-balancer", name, "-partitions", &partitions];
    args.extend_from_slice(keys);
    run_go(&args, "the kafka-go program (hash)")
        .await?
        .lines()
        .map(|line| {
            let (key, partition) = line
                .rsplit_once(' ')
                .with_context(|| format!("malformed line {line:?}"))?;
            Ok((key.to_string(), partition.parse()?))
        })
        .collect()
}
// ANCHOR_END: kafka_go_hash

/// kafka-go's `Hash` balancer (FNV-1a) for each key.
pub async fn kafka_go_hash(keys: &[&str], partitions: i32) -> Result<BTreeMap<String, i32>> {
    kafka_go_balance(GoHashBalancer::Hash, keys, partitions).await
}

/// Which `Balancer` the Go program's `kafka.Writer` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoBalancer {
    /// `Balancer: &kafka.Hash{}`
    Hash,
    /// `Balancer` left nil: the Writer's default.
    WriterDefault,
}

// ANCHOR: kafka_go_write
/// A real kafka-go `Writer` writes one record per entry of `keys` (in this
/// order, value = index) to the broker; we read back where each one landed.
pub async fn kafka_go_write(
    bootstrap: &str,
    topic: &str,
    balancer: GoBalancer,
    keys: &[&str],
) -> Result<Vec<Landed>> {
    let from = end_offsets(bootstrap, topic).await?;
    let balancer_name = match balancer {
        GoBalancer::Hash => "hash",
        GoBalancer::WriterDefault => "default",
    };
    let mut args = vec!["write", "-brokers", bootstrap, "-topic", topic];
    args.extend_from_slice(&["-balancer", balancer_name]);
    args.extend_from_slice(keys);
    run_go(&args, "the kafka-go program (write)").await?;
    read_landed(bootstrap, topic, &from, keys.len()).await
}
// ANCHOR_END: kafka_go_write

/// [`kafka_go_write`] for distinct keys, as a key → partition map.
pub async fn kafka_go_placements(
    bootstrap: &str,
    topic: &str,
    balancer: GoBalancer,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    Ok(into_map(
        kafka_go_write(bootstrap, topic, balancer, keys).await?,
    ))
}

// ---------------------------------------------------------------------------
// Reference hashes: what the partitioners compute, in a few lines each
// ---------------------------------------------------------------------------

/// The partition each built-in hashing partitioner computes for `key`,
/// written out so the tests can check librdkafka (and the Java client and
/// kafka-go) against the published algorithms.
pub mod reference {
    /// `consistent_random`: CRC32 (the zlib one) of the key, mod the count.
    pub fn crc32_partition(key: &[u8], partitions: i32) -> i32 {
        (tutorial_lab::testing::crc32(key) % partitions as u32) as i32
    }

    /// Kafka's murmur2 (seed 0x9747b28c), as in the Java client's `Utils.murmur2`.
    pub fn murmur2(data: &[u8]) -> u32 {
        const SEED: u32 = 0x9747_b28c;
        const M: u32 = 0x5bd1_e995;
        const R: u32 = 24;
        let mut h = SEED ^ data.len() as u32;
        let mut chunks = data.chunks_exact(4);
        for chunk in &mut chunks {
            let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            k = k.wrapping_mul(M);
            k ^= k >> R;
            k = k.wrapping_mul(M);
            h = h.wrapping_mul(M);
            h ^= k;
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            for (i, byte) in tail.iter().enumerate().rev() {
                h ^= u32::from(*byte) << (8 * i);
            }
            h = h.wrapping_mul(M);
        }
        h ^= h >> 13;
        h = h.wrapping_mul(M);
        h ^= h >> 15;
        h
    }

    /// `murmur2_random` and the Java client: `toPositive(murmur2(key)) % n`.
    pub fn murmur2_partition(key: &[u8], partitions: i32) -> i32 {
        ((murmur2(key) & 0x7fff_ffff) % partitions as u32) as i32
    }

    /// 32-bit FNV-1a.
    pub fn fnv1a(data: &[u8]) -> u32 {
        let mut h: u32 = 0x811c_9dc5;
        for byte in data {
            h ^= u32::from(*byte);
            h = h.wrapping_mul(0x0100_0193);
        }
        h
    }

    /// `fnv1a_random` and kafka-go's `Hash`: FNV-1a read as a signed 32-bit
    /// number and made positive (sarama's rule), mod the count.
    pub fn fnv1a_partition(key: &[u8], partitions: i32) -> i32 {
        ((fnv1a(key) as i32).wrapping_abs() as u32 % partitions as u32) as i32
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn murmur2_matches_the_java_clients_test_vectors() {
            // From Kafka's UtilsTest.testMurmur2 (values as Java ints).
            let cases: [(&[u8], i32); 6] = [
                (b"21", -973_932_308),
                (b"foobar", -790_332_482),
                (b"a-little-bit-long-string", -985_981_536),
                (b"a-little-bit-longer-string", -1_486_304_829),
                (
                    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                    -58_897_971,
                ),
                (b"abc", 479_470_107),
            ];
            for (data, expected) in cases {
                assert_eq!(murmur2(data) as i32, expected, "{data:?}");
            }
        }

        #[test]
        fn fnv1a_matches_the_published_test_vectors() {
            // From the FNV reference test suite (Fowler/Noll/Vo).
            assert_eq!(fnv1a(b""), 0x811c_9dc5);
            assert_eq!(fnv1a(b"a"), 0xe40c_292c);
            assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
            // 0xe40c292c is negative as an i32: the partition uses its absolute value.
            assert_eq!(fnv1a_partition(b"a", 1000), (0x1bf3_d6d4_u32 % 1000) as i32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_bytes_fills_the_emptiest_partition_first() {
        let mut chooser = LeastBytes::new(3);
        assert_eq!(chooser.choose(100), 0);
        assert_eq!(chooser.choose(10), 1);
        assert_eq!(chooser.choose(10), 2);
        assert_eq!(
            chooser.choose(10),
            1,
            "partition 1 has 10 bytes, 2 has 10: lowest wins"
        );
        assert_eq!(chooser.choose(500), 2);
        assert_eq!(chooser.bytes, vec![100, 20, 510]);
    }

    #[test]
    fn histogram_and_switches_count_what_they_say() {
        assert_eq!(histogram(&[0, 0, 2, 1, 2], 3), vec![2, 1, 2]);
        assert_eq!(switches(&[0, 0, 2, 2, 1]), 2);
        assert_eq!(switches(&[1]), 0);
    }
}

//! Chapter 四 配置调优: what `linger.ms`, `batch.size`, compression, acks,
//! idempotence, the producer type and the consumer's fetch settings do to
//! throughput, latency and CPU — measured on the real broker, next to Kafka's
//! own Java perf tools and kafka-go in the same run.
//!
//! This file holds the Kafka side: the settings a reader can change, the
//! three producer loops (`BaseProducer`, `ThreadedProducer`, `FutureProducer`)
//! and the consumer loop. [`bench`] runs them (and the peers, [`peers`]) as
//! child processes over a matrix, [`report`] turns the numbers into tables
//! and [`chart`] into SVG charts.

pub mod bench;
pub mod chart;
pub mod peers;
pub mod report;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{
    BaseProducer, BaseRecord, FutureProducer, FutureRecord, Producer, ProducerContext,
    ThreadedProducer,
};
use serde::{Deserialize, Serialize};

/// How long a run may go without progress before it is declared stuck.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// `compression.type`: librdkafka, the Java client and kafka-go all speak these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Lz4,
    Zstd,
    Snappy,
    Gzip,
}

impl Compression {
    pub const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Lz4,
        Compression::Zstd,
        Compression::Snappy,
        Compression::Gzip,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
            Compression::Snappy => "snappy",
            Compression::Gzip => "gzip",
        }
    }
}

/// `acks`: how many replicas must have the batch before the broker answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
pub enum Acks {
    #[value(name = "all")]
    #[serde(rename = "all")]
    All,
    #[value(name = "1")]
    #[serde(rename = "1")]
    One,
    #[value(name = "0")]
    #[serde(rename = "0")]
    Zero,
}

impl Acks {
    pub fn name(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::One => "1",
            Acks::Zero => "0",
        }
    }
}

/// Which rust-rdkafka producer type runs the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProducerKind {
    /// `BaseProducer`: the application polls for delivery reports itself
    Base,
    /// `ThreadedProducer`: a background thread polls
    Threaded,
    /// `FutureProducer`: one future (a oneshot channel) per record
    Future,
}

impl ProducerKind {
    pub fn name(self) -> &'static str {
        match self {
            ProducerKind::Base => "BaseProducer",
            ProducerKind::Threaded => "ThreadedProducer",
            ProducerKind::Future => "FutureProducer",
        }
    }
}

/// The producer settings the bench varies. The same values are given to the
/// Java perf tool and to kafka-go (see [`peers`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, clap::Args, Serialize, Deserialize)]
pub struct ProducerSettings {
    /// Bytes of payload per record (no key)
    #[arg(long, default_value_t = 1000)]
    pub record_size: usize,
    /// linger.ms: how long a partition's batch may wait for more records
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// batch.size: the most bytes in one partition's batch
    #[arg(long, default_value_t = 1_000_000)]
    pub batch_size: u64,
    /// batch.num.messages: the most records in one batch (librdkafka only)
    #[arg(long, default_value_t = 10_000)]
    pub batch_num_messages: u64,
    /// compression.type
    #[arg(long, value_enum, default_value_t = Compression::None)]
    pub compression: Compression,
    /// acks
    #[arg(long, value_enum, default_value_t = Acks::All)]
    pub acks: Acks,
    /// enable.idempotence (forces acks=all)
    #[arg(long)]
    pub idempotence: bool,
    /// Offered load in records/s (0 = as fast as possible); for latency at a given rate
    #[arg(long, default_value_t = 0)]
    #[serde(default)]
    pub rate: u64,
    /// Any other librdkafka property, e.g. --set socket.send.buffer.bytes=4194304 (repeatable; ours only)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = property)]
    #[serde(default)]
    pub extra: Vec<String>,
}

/// Checks a `--set KEY=VALUE` argument.
fn property(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => Ok(text.to_string()),
        _ => Err(format!(
            "`{text}` is not KEY=VALUE (for example socket.send.buffer.bytes=4194304)"
        )),
    }
}

fn apply_extra(config: &mut ClientConfig, extra: &[String]) {
    for item in extra {
        if let Some((key, value)) = item.split_once('=') {
            config.set(key.trim(), value.trim());
        }
    }
}

impl Default for ProducerSettings {
    fn default() -> Self {
        ProducerSettings {
            record_size: 1000,
            linger_ms: 5,
            batch_size: 1_000_000,
            batch_num_messages: 10_000,
            compression: Compression::None,
            acks: Acks::All,
            idempotence: false,
            rate: 0,
            extra: Vec::new(),
        }
    }
}

// ANCHOR: producer_config
/// The knobs of this chapter, as librdkafka properties.
///
/// A batch per partition is closed and sent when the first of three things
/// happens: it holds `batch.num.messages` records, it holds `batch.size`
/// bytes, or its oldest record waited `linger.ms`. Compression runs on the
/// whole batch (bigger batches compress better), in librdkafka's broker
/// thread, before the batch goes on the wire.
pub fn producer_config(bootstrap: &str, settings: &ProducerSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", settings.linger_ms.to_string())
        .set("batch.size", settings.batch_size.to_string())
        .set(
            "batch.num.messages",
            settings.batch_num_messages.to_string(),
        )
        .set("compression.type", settings.compression.name())
        .set("acks", settings.acks.name())
        .set("enable.idempotence", settings.idempotence.to_string())
        // How many records may wait in the client (queued + in flight)
        // before `send` answers QueueFull: the back-pressure point.
        .set("queue.buffering.max.messages", "100000")
        // A stuck run fails within a minute instead of librdkafka's 5.
        .set("message.timeout.ms", "60000");
    apply_extra(&mut config, &settings.extra);
    config
}
// ANCHOR_END: producer_config

/// The producer settings `print_effective` shows.
pub const PRODUCER_KEYS: &[&str] = &[
    "linger.ms",
    "batch.size",
    "batch.num.messages",
    "compression.type",
    "acks",
    "enable.idempotence",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    "max.in.flight.requests.per.connection",
];

/// The consumer settings the bench varies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, clap::Args, Serialize, Deserialize)]
pub struct ConsumerSettings {
    /// fetch.min.bytes: the broker holds a fetch until it has this much
    #[arg(long, default_value_t = 1)]
    pub fetch_min_bytes: u64,
    /// fetch.wait.max.ms: …or until this long has passed
    #[arg(long, default_value_t = 500)]
    pub fetch_wait_max_ms: u64,
    /// queued.max.messages.kbytes: how much the client prefetches
    #[arg(long, default_value_t = 65536)]
    pub queued_max_messages_kbytes: u64,
    /// queued.min.messages: records per partition the prefetch aims for
    #[arg(long, default_value_t = 100_000)]
    pub queued_min_messages: u64,
    /// fetch.queue.backoff.ms: pause of a partition's fetching once the prefetch is full
    #[arg(long, default_value_t = 1000)]
    pub fetch_queue_backoff_ms: u64,
    /// Any other librdkafka property (repeatable; ours only)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = property)]
    #[serde(default)]
    pub extra: Vec<String>,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        ConsumerSettings {
            fetch_min_bytes: 1,
            fetch_wait_max_ms: 500,
            queued_max_messages_kbytes: 65536,
            queued_min_messages: 100_000,
            fetch_queue_backoff_ms: 1000,
            extra: Vec::new(),
        }
    }
}

// ANCHOR: consumer_config
/// The consumer side: a fetch request is answered when `fetch.min.bytes`
/// are available or `fetch.wait.max.ms` has passed. librdkafka's fetcher
/// thread prefetches into a local queue until a partition has
/// `queued.min.messages` records (or the queue `queued.max.messages.kbytes`)
/// and then pauses that partition's fetching for `fetch.queue.backoff.ms` —
/// a full second by default, during which a fast application can empty the
/// queue and wait.
pub fn consumer_config(bootstrap: &str, group: &str, settings: &ConsumerSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("fetch.min.bytes", settings.fetch_min_bytes.to_string())
        .set("fetch.wait.max.ms", settings.fetch_wait_max_ms.to_string())
        .set(
            "queued.max.messages.kbytes",
            settings.queued_max_messages_kbytes.to_string(),
        )
        .set(
            "queued.min.messages",
            settings.queued_min_messages.to_string(),
        )
        .set(
            "fetch.queue.backoff.ms",
            settings.fetch_queue_backoff_ms.to_string(),
        );
    apply_extra(&mut config, &settings.extra);
    config
}
// ANCHOR_END: consumer_config

/// The consumer settings `print_effective` shows.
pub const CONSUMER_KEYS: &[&str] = &[
    "fetch.min.bytes",
    "fetch.wait.max.ms",
    "queued.max.messages.kbytes",
    "queued.min.messages",
    "fetch.queue.backoff.ms",
    "fetch.max.bytes",
    "max.partition.fetch.bytes",
    "enable.auto.commit",
];

/// What one client run measured. Every client (ours, Java, kafka-go)
/// reports in this shape; CPU time is added by the parent from rusage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub client: String,
    pub records: u64,
    pub bytes: u64,
    /// From the first send to the last delivery report (producers), or from
    /// the first record received to the last (consumers).
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p999_ms: Option<f64>,
    #[serde(default)]
    pub errors: u64,
}

impl RunResult {
    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.seconds.max(1e-9)
    }

    pub fn mib_per_second(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.seconds.max(1e-9)
    }

    /// The line a child process prints for the bench to read.
    pub fn to_line(&self) -> String {
        format!(
            "RESULT {}",
            serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
        )
    }

    /// Reads the `RESULT {json}` line from a child's output.
    pub fn from_output(output: &str) -> Result<RunResult> {
        let line = output
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("RESULT "))
            .context("no RESULT line in the client's output")?;
        serde_json::from_str(line).with_context(|| format!("cannot parse RESULT {line}"))
    }
}

/// The payload every client sends, like Kafka's `ProducerPerformance`:
/// `size` random upper-case letters, generated once and reused for every
/// record (so compressors see the same record over and over).
pub fn payload(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..size)
        .map(|_| {
            // xorshift64: enough randomness for letters, no dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b'A' + (state % 26) as u8
        })
        .collect()
}

/// Send-to-delivery-report latencies, in microseconds.
#[derive(Default)]
pub struct Latencies {
    samples: Mutex<Vec<u32>>,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Latencies {
    fn with_capacity(records: usize) -> Self {
        Latencies {
            samples: Mutex::new(Vec::with_capacity(records)),
            ..Default::default()
        }
    }

    fn record(&self, since_send: Duration) {
        let micros = u32::try_from(since_send.as_micros()).unwrap_or(u32::MAX);
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(micros);
        }
    }

    fn fail(&self, error: &KafkaError) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error.to_string());
        }
    }

    /// Delivered and failed counts and the latency percentiles.
    pub fn summary(&self) -> Summary {
        let mut samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        samples.sort_unstable();
        let at = |q: f64| -> Option<f64> {
            let index = ((samples.len().checked_sub(1)?) as f64 * q) as usize;
            Some(f64::from(samples[index]) / 1000.0)
        };
        Summary {
            delivered: samples.len() as u64,
            failed: self.failed.load(Ordering::Relaxed),
            last_error: self.last_error.lock().ok().and_then(|l| l.clone()),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
        }
    }
}

/// What [`Latencies::summary`] reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub delivered: u64,
    pub failed: u64,
    pub last_error: Option<String>,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
}

/// Spreads sends evenly at `rate` records/s (0: no pacing).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    start: Instant,
    rate: u64,
}

impl Pace {
    pub fn new(rate: u64) -> Pace {
        Pace {
            start: Instant::now(),
            rate,
        }
    }

    /// How long until record `index` is due, if it is not due yet.
    pub fn ahead(&self, index: u64) -> Option<Duration> {
        if self.rate == 0 {
            return None;
        }
        let due = Duration::from_secs_f64(index as f64 / self.rate as f64);
        due.checked_sub(self.start.elapsed())
            .filter(|wait| !wait.is_zero())
    }
}

// ANCHOR: delivery_context
/// The delivery-report callback of `BaseProducer`/`ThreadedProducer`. The
/// opaque value carried by each record is its send time (µs since `start`),
/// so measuring latency costs no allocation per record.
pub struct Timing {
    start: Instant,
    latencies: Latencies,
}

impl Timing {
    fn new(records: u64) -> Self {
        Timing {
            start: Instant::now(),
            latencies: Latencies::with_capacity(records as usize),
        }
    }
}

impl ClientContext for Timing {}

impl ProducerContext for Timing {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, sent_at_micros: usize) {
        match result {
            Ok(_) => {
                let now = self.start.elapsed();
                let sent = Duration::from_micros(sent_at_micros as u64);
                self.latencies.record(now.saturating_sub(sent));
            }
            Err((error, _)) => self.latencies.fail(error),
        }
    }
}
// ANCHOR_END: delivery_context

fn queue_full(error: &KafkaError) -> bool {
    matches!(
        error,
        KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull)
    )
}

/// Sends `records` records to `topic` with the given producer type and
/// returns what was measured. Client creation and the first metadata
/// request happen before the clock starts.
pub async fn run_producer(
    bootstrap: &str,
    topic: &str,
    records: u64,
    settings: &ProducerSettings,
    kind: ProducerKind,
) -> Result<RunResult> {
    let config = producer_config(bootstrap, settings);
    let value = payload(settings.record_size, 0x5eed);
    let (seconds, summary) = match kind {
        ProducerKind::Base => {
            let producer: BaseProducer<Timing> =
                config.create_with_context(Timing::new(records))?;
            warm_up(producer.client(), topic)?;
            let started = Instant::now();
            base_loop(&producer, topic, records, &value, Pace::new(settings.rate))?;
            let seconds = started.elapsed().as_secs_f64();
            (seconds, producer.context().latencies.summary())
        }
        ProducerKind::Threaded => {
            let producer: ThreadedProducer<Timing> =
                config.create_with_context(Timing::new(records))?;
            warm_up(producer.client(), topic)?;
            let started = Instant::now();
            threaded_loop(&producer, topic, records, &value, Pace::new(settings.rate))?;
            let seconds = started.elapsed().as_secs_f64();
            (seconds, producer.context().latencies.summary())
        }
        ProducerKind::Future => {
            let producer: FutureProducer = config.create()?;
            warm_up(producer.client(), topic)?;
            let latencies = Latencies::with_capacity(records as usize);
            let started = Instant::now();
            future_loop(
                &producer,
                topic,
                records,
                &value,
                &latencies,
                Pace::new(settings.rate),
            )
            .await?;
            (started.elapsed().as_secs_f64(), latencies.summary())
        }
    };
    if summary.failed > 0 {
        bail!(
            "{} of {records} records were not delivered (last error: {})",
            summary.failed,
            summary.last_error.unwrap_or_default()
        );
    }
    Ok(RunResult {
        client: kind.name().to_string(),
        records: summary.delivered,
        bytes: summary.delivered * settings.record_size as u64,
        seconds,
        p50_ms: summary.p50_ms,
        p99_ms: summary.p99_ms,
        p999_ms: summary.p999_ms,
        errors: records.saturating_sub(summary.delivered),
    })
}

/// Fetches the topic's metadata once, so the first timed `send` does not
/// wait for it.
fn warm_up<C: ClientContext>(client: &rdkafka::client::Client<C>, topic: &str) -> Result<()> {
    client
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .with_context(|| format!("metadata for {topic}"))?;
    Ok(())
}

// ANCHOR: base_loop
/// `BaseProducer`: `send` only enqueues; delivery reports are served by
/// `poll`, which this loop calls after every send (with a zero timeout, it
/// just runs the callbacks that are ready). When the queue is full
/// (QueueFull: back-pressure), serve reports to make room and retry the
/// same record. At the end, wait until every report arrived.
fn base_loop(
    producer: &BaseProducer<Timing>,
    topic: &str,
    records: u64,
    value: &[u8],
    pace: Pace,
) -> Result<()> {
    let start = producer.context().start;
    for i in 0..records {
        while let Some(wait) = pace.ahead(i) {
            producer.poll(Duration::ZERO);
            std::thread::sleep(wait.min(Duration::from_micros(500)));
        }
        let sent_at = start.elapsed().as_micros() as usize;
        let mut record =
            BaseRecord::<(), [u8], usize>::with_opaque_to(topic, sent_at).payload(value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((error, returned)) if queue_full(&error) => {
                    serve_reports(producer);
                    record = returned;
                }
                Err((error, _)) => return Err(error).context("send"),
            }
        }
        producer.poll(Duration::ZERO);
    }
    // `flush` polls in 100 ms steps: draining ourselves first ends the run
    // when the last report arrives; `flush` then only confirms.
    let deadline = Instant::now() + STALL_TIMEOUT;
    while producer.in_flight_count() > 0 && Instant::now() < deadline {
        serve_reports(producer);
    }
    producer
        .flush(Duration::from_secs(1))
        .context("flush: records still undelivered")?;
    Ok(())
}

/// Runs the delivery reports that are ready, then yields the CPU briefly.
/// Not `poll(Duration::from_millis(1))`: rust-rdkafka's `poll(t)` keeps
/// polling until `t` has passed and hands librdkafka whole milliseconds, so
/// the last (here: the only) partial millisecond is a busy loop.
fn serve_reports(producer: &BaseProducer<Timing>) {
    producer.poll(Duration::ZERO);
    std::thread::sleep(Duration::from_micros(200));
}
// ANCHOR_END: base_loop

// ANCHOR: threaded_loop
/// `ThreadedProducer`: the same `send`, but a background thread polls, so
/// the sending loop never serves callbacks. On QueueFull it waits a moment
/// for that thread to make room.
fn threaded_loop(
    producer: &ThreadedProducer<Timing>,
    topic: &str,
    records: u64,
    value: &[u8],
    pace: Pace,
) -> Result<()> {
    let start = producer.context().start;
    for i in 0..records {
        if let Some(wait) = pace.ahead(i) {
            std::thread::sleep(wait);
        }
        let sent_at = start.elapsed().as_micros() as usize;
        let mut record =
            BaseRecord::<(), [u8], usize>::with_opaque_to(topic, sent_at).payload(value);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((error, returned)) if queue_full(&error) => {
                    std::thread::sleep(Duration::from_millis(1));
                    record = returned;
                }
                Err((error, _)) => return Err(error).context("send"),
            }
        }
    }
    // The background thread serves the reports; wait for the queue to drain
    // (in 1 ms steps rather than `flush`'s 100 ms ones), then confirm.
    let deadline = Instant::now() + STALL_TIMEOUT;
    while producer.in_flight_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    producer
        .flush(Duration::from_secs(1))
        .context("flush: records still undelivered")?;
    Ok(())
}
// ANCHOR_END: threaded_loop

// ANCHOR: future_loop
/// `FutureProducer`: every `send_result` returns a `DeliveryFuture` (a
/// oneshot channel completed from librdkafka's callback). Thousands must be
/// in flight at once for batching to work, so the futures go to a collector
/// task that awaits them as they complete; awaiting each before the next
/// send would put one record in each batch.
async fn future_loop(
    producer: &FutureProducer,
    topic: &str,
    records: u64,
    value: &[u8],
    latencies: &Latencies,
    pace: Pace,
) -> Result<()> {
    let (to_collector, mut pending_rx) = tokio::sync::mpsc::channel(4096);
    let collector = async move {
        let mut pending = FuturesUnordered::new();
        let mut open = true;
        loop {
            tokio::select! {
                next = pending_rx.recv(), if open => match next {
                    Some((sent, delivery)) => pending.push(async move {
                        let outcome: Result<_, _> = delivery.await;
                        (sent, outcome)
                    }),
                    None => open = false,
                },
                Some((sent, outcome)) = pending.next(), if !pending.is_empty() => {
                    match outcome {
                        Ok(Ok(_)) => latencies.record(Instant::elapsed(&sent)),
                        Ok(Err((error, _))) => latencies.fail(&error),
                        Err(_) => latencies.fail(&KafkaError::Canceled),
                    }
                }
                else => break,
            }
        }
    };
    let sender = async move {
        for i in 0..records {
            if let Some(wait) = pace.ahead(i) {
                tokio::time::sleep(wait).await;
            }
            let mut record = FutureRecord::<(), [u8]>::to(topic).payload(value);
            let delivery = loop {
                let sent = Instant::now();
                match producer.send_result(record) {
                    Ok(delivery) => break (sent, delivery),
                    Err((error, returned)) if queue_full(&error) => {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        record = returned;
                    }
                    Err((error, _)) => return Err(error).context("send_result"),
                }
            };
            if to_collector.send(delivery).await.is_err() {
                bail!("the collector task stopped");
            }
        }
        Ok(())
    };
    let (sent, ()) = tokio::join!(sender, collector);
    sent
}
// ANCHOR_END: future_loop

// ANCHOR: consume_loop
/// Reads `records` records with a consumer group from the beginning of
/// `topic`. The clock starts at the first record, so joining the group
/// (a rebalance) is not counted — like the Java tool's `fetch.nMsg.sec`.
pub fn run_consumer(
    bootstrap: &str,
    topic: &str,
    group: &str,
    records: u64,
    settings: &ConsumerSettings,
) -> Result<RunResult> {
    let consumer: BaseConsumer = consumer_config(bootstrap, group, settings).create()?;
    consumer.subscribe(&[topic])?;
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut first: Option<Instant> = None;
    let mut last_progress = Instant::now();
    while count < records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                first.get_or_insert_with(Instant::now);
                count += 1;
                bytes += message.payload_len() as u64;
                last_progress = Instant::now();
            }
            Some(Err(error)) => return Err(error).context("consumer poll"),
            None if last_progress.elapsed() > STALL_TIMEOUT => {
                bail!(
                    "read {count} of {records} records from {topic}; nothing new for {STALL_TIMEOUT:?}"
                )
            }
            None => {}
        }
    }
    let seconds = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    Ok(RunResult {
        client: "BaseConsumer".into(),
        records: count,
        bytes,
        seconds,
        p50_ms: None,
        p99_ms: None,
        p999_ms: None,
        errors: 0,
    })
}
// ANCHOR_END: consume_loop

// ANCHOR: sync_sends
/// The "slow synchronous send" pattern: one record, wait for its delivery,
/// the next. Every record sits alone in its batch for the whole `linger.ms`
/// (nothing else will arrive to fill it), so each send costs linger.ms + a
/// round trip. kafka-go's `WriteMessages` with a single message and the
/// default `BatchTimeout` of 1 s is the same trap with a 1 s linger.
pub async fn sync_sends(
    bootstrap: &str,
    topic: &str,
    records: u64,
    linger_ms: u64,
) -> Result<RunResult> {
    let settings = ProducerSettings {
        linger_ms,
        ..ProducerSettings::default()
    };
    let producer: FutureProducer = producer_config(bootstrap, &settings).create()?;
    warm_up(producer.client(), topic)?;
    let latencies = Latencies::with_capacity(records as usize);
    let started = Instant::now();
    for i in 0..records {
        let payload = format!("message {i}");
        let sent = Instant::now();
        producer
            .send(
                FutureRecord::<(), _>::to(topic).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(error, _)| error)
            .context("send")?;
        latencies.record(sent.elapsed());
    }
    let seconds = started.elapsed().as_secs_f64();
    let summary = latencies.summary();
    Ok(RunResult {
        client: "FutureProducer".into(),
        records,
        bytes: 0,
        seconds,
        p50_ms: summary.p50_ms,
        p99_ms: summary.p99_ms,
        p999_ms: summary.p999_ms,
        errors: 0,
    })
}
// ANCHOR_END: sync_sends

/// The builtin features librdkafka was compiled with (`builtin.features`),
/// e.g. to check that zstd is there.
pub fn builtin_features() -> Result<String> {
    let native = ClientConfig::new().create_native_config()?;
    Ok(native.get("builtin.features")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_upper_case_letters_of_the_requested_size() {
        let p = payload(1000, 7);
        assert_eq!(p.len(), 1000);
        assert!(p.iter().all(u8::is_ascii_uppercase));
        assert!(p.iter().collect::<std::collections::HashSet<_>>().len() > 20);
    }

    #[test]
    fn result_lines_round_trip() {
        let r = RunResult {
            client: "x".into(),
            records: 10,
            bytes: 100,
            seconds: 0.5,
            p50_ms: Some(1.0),
            p99_ms: None,
            p999_ms: None,
            errors: 0,
        };
        let parsed = RunResult::from_output(&format!("noise\n{}\n", r.to_line())).unwrap();
        assert_eq!(parsed, r);
        assert_eq!(parsed.records_per_second(), 20.0);
    }

    #[test]
    fn every_codec_in_the_matrix_is_compiled_into_librdkafka() {
        let features = builtin_features().unwrap();
        for codec in ["gzip", "snappy", "zstd", "lz4"] {
            assert!(features.contains(codec), "{codec} missing from {features}");
        }
    }
}

//! The knobs of 四.7 配置调优, as librdkafka properties: how a producer
//! batches, compresses and confirms, how much it may hold back, and how a
//! consumer fetches and prefetches. Every default below is librdkafka's own
//! (a test on this page checks them), so a field you do not touch keeps the
//! behaviour you would get without setting it.

use rdkafka::ClientConfig;

/// `compression.type`: librdkafka, the Java client and kafka-go all speak these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

    /// The value librdkafka, Java and kafka-go's flags use.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Acks {
    All,
    One,
    Zero,
}

impl Acks {
    pub const ALL: [Acks; 3] = [Acks::All, Acks::One, Acks::Zero];

    pub fn name(self) -> &'static str {
        match self {
            Acks::All => "all",
            Acks::One => "1",
            Acks::Zero => "0",
        }
    }
}

/// The producer knobs this page measures. `Default` is librdkafka's default
/// for each of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProducerSettings {
    /// `linger.ms`: how long a partition's batch may wait for more records.
    pub linger_ms: u64,
    /// `batch.size`: the most bytes in one partition's batch.
    pub batch_size: u64,
    /// `batch.num.messages`: the most records in one batch (librdkafka only).
    pub batch_num_messages: u64,
    pub compression: Compression,
    pub acks: Acks,
    /// `enable.idempotence` (forces acks=all).
    pub idempotence: bool,
    /// Any other librdkafka property, e.g. `("socket.send.buffer.bytes", "4194304")`.
    pub extra: Vec<(String, String)>,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        ProducerSettings {
            linger_ms: 5,
            batch_size: 1_000_000,
            batch_num_messages: 10_000,
            compression: Compression::None,
            acks: Acks::All,
            idempotence: false,
            extra: Vec::new(),
        }
    }
}

// ANCHOR: producer_config
/// The knobs of this page, as librdkafka properties.
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
    for (key, value) in &settings.extra {
        config.set(key, value);
    }
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

/// The consumer knobs this page measures; `Default` is librdkafka's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsumerSettings {
    /// `fetch.min.bytes`: the broker holds a fetch until it has this much…
    pub fetch_min_bytes: u64,
    /// `fetch.wait.max.ms`: …or until this long has passed.
    pub fetch_wait_max_ms: u64,
    /// `queued.max.messages.kbytes`: how much the client prefetches.
    pub queued_max_messages_kbytes: u64,
    /// `queued.min.messages`: records per partition the prefetch aims for.
    pub queued_min_messages: u64,
    /// `fetch.queue.backoff.ms`: pause of a partition's fetching once the prefetch is full.
    pub fetch_queue_backoff_ms: u64,
    /// Any other librdkafka property.
    pub extra: Vec<(String, String)>,
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
    for (key, value) in &settings.extra {
        config.set(key, value);
    }
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

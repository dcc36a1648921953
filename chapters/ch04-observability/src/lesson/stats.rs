//! librdkafka's statistics: turned on with `statistics.interval.ms`,
//! delivered to a [`ClientContext`], read by whoever needs them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaResult;
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;

use super::metrics::Metrics;

// ANCHOR: context
/// A client context that receives librdkafka's statistics every
/// `statistics.interval.ms`. librdkafka builds the JSON on its own timer;
/// rust-rdkafka parses it into [`Statistics`] and calls `stats` from
/// whatever thread polls the client — the producer's background thread, or
/// the task that awaits the consumer's `recv()`. A clone shares the
/// counters, so it can be kept to read them back.
#[derive(Clone)]
pub struct StatsContext {
    metrics: Metrics,
    seen: Arc<Seen>,
}

#[derive(Default)]
struct Seen {
    callbacks: AtomicU64,
    latest: Mutex<Option<Statistics>>,
}

impl ClientContext for StatsContext {
    fn stats(&self, statistics: Statistics) {
        self.metrics.record(statistics.clone());
        *self
            .seen
            .latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(statistics);
        self.seen.callbacks.fetch_add(1, Ordering::Relaxed);
    }
}

// The default rebalance and commit callbacks are what we want.
impl ConsumerContext for StatsContext {}
// ANCHOR_END: context

impl StatsContext {
    /// How many times the statistics callback ran.
    pub fn callbacks(&self) -> u64 {
        self.seen.callbacks.load(Ordering::Relaxed)
    }

    /// The last snapshot, if any arrived.
    pub fn latest(&self) -> Option<Statistics> {
        self.seen
            .latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

// ANCHOR: interval
/// The statistics interval a configuration asks for; `None` when it is
/// 0, librdkafka's default: then no statistics are emitted at all.
pub fn statistics_interval(config: &ClientConfig) -> Option<Duration> {
    let ms: u64 = config.get("statistics.interval.ms")?.parse().ok()?;
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// A context that feeds `metrics`. A client without statistics is
/// registered as such, so a scrape says "metrics are off" instead of
/// serving nothing, or zeros, without a reason.
pub fn context_for(config: &ClientConfig, metrics: &Metrics, what: &str) -> StatsContext {
    if statistics_interval(config).is_none() {
        metrics.statistics_off(what);
    }
    StatsContext {
        metrics: metrics.clone(),
        seen: Arc::default(),
    }
}
// ANCHOR_END: interval

// ANCHOR: clients
/// A consumer whose statistics come every `interval_ms`. Offsets are
/// committed by the application (`commit`), so the committed offset —
/// and with it `consumer_lag` — moves only when we say so.
pub fn consumer_config(bootstrap: &str, group: &str, interval_ms: u64) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("statistics.interval.ms", interval_ms.to_string());
    config
}

/// A producer whose statistics come every `interval_ms`.
pub fn producer_config(bootstrap: &str, linger_ms: u32, interval_ms: u64) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", linger_ms.to_string())
        .set("message.timeout.ms", "30000")
        .set("statistics.interval.ms", interval_ms.to_string());
    config
}

pub fn consumer(
    config: &ClientConfig,
    metrics: &Metrics,
) -> KafkaResult<StreamConsumer<StatsContext>> {
    config.create_with_context(context_for(config, metrics, "a consumer"))
}

pub fn producer(
    config: &ClientConfig,
    metrics: &Metrics,
) -> KafkaResult<FutureProducer<StatsContext>> {
    config.create_with_context(context_for(config, metrics, "a producer"))
}
// ANCHOR_END: clients

//! 四.5 in every stage: librdkafka's statistics feed the chapter's
//! Prometheus metrics, served on `/metrics` (one port per stage).
//!
//! 四.5's [`StatsContext`] is a whole client context; a stage whose client
//! needs a context of its own (delivery counts, rebalance callbacks) keeps
//! one inside and hands the statistics on.

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::ProducerContext;
use rdkafka::statistics::Statistics;

pub use ch04_observability::lesson::endpoint::{MetricsServer, serve};
pub use ch04_observability::lesson::metrics::Metrics;
pub use ch04_observability::lesson::stats::{StatsContext, context_for};

/// How often every stage's clients report statistics.
pub const STATISTICS_INTERVAL_MS: &str = "1000";

// ANCHOR: observed
/// Statistics on, for a stage's client configuration.
pub fn with_statistics(mut config: ClientConfig) -> ClientConfig {
    config.set("statistics.interval.ms", STATISTICS_INTERVAL_MS);
    config
}

/// A context that only exports statistics (for clients whose callbacks
/// need nothing else).
#[derive(Clone)]
pub struct Observed(pub StatsContext);

impl ClientContext for Observed {
    fn stats(&self, statistics: Statistics) {
        self.0.stats(statistics);
    }

    /// A partition's end (`enable.partition.eof`) reaches this callback as
    /// well as `poll`; it is not an error worth a log line.
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        if error.rdkafka_error_code() != Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF) {
            tracing::error!("librdkafka: {error}: {reason}");
        }
    }
}

impl ConsumerContext for Observed {}

impl ProducerContext for Observed {
    type DeliveryOpaque = ();
    // Transactional and flushed producers learn of failed deliveries from
    // `flush` and `commit_transaction`; nothing to do per record.
    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}
// ANCHOR_END: observed

impl Observed {
    pub fn new(config: &ClientConfig, metrics: &Metrics, what: &str) -> Observed {
        Observed(context_for(config, metrics, what))
    }
}

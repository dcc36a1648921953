//! librdkafka's statistics as Prometheus metrics.
//!
//! The statistics callback only *stores* the latest snapshot of each client
//! (cheap, on librdkafka's polling thread); a scrape turns the snapshots
//! into metrics. So a scrape shows exactly the last statistics each client
//! emitted — no stale series of a partition that was revoked long ago, and
//! nothing at all (an HTTP 503 that says why) when statistics are off.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Registry, TextEncoder};
use rdkafka::Statistics;
use rdkafka::statistics::Window;

use registry::Registrar;

mod registry;

/// Why a scrape has nothing to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoMetrics {
    #[error(
        "metrics are off: statistics.interval.ms=0 for {0} (librdkafka's default), so librdkafka \
         emits no statistics; set it, e.g. to 5000"
    )]
    StatisticsOff(String),
    #[error(
        "no statistics yet: the first arrive one statistics.interval.ms after the client starts"
    )]
    NotYet,
}

// ANCHOR: families
/// The metrics this chapter exports, one family per number worth watching.
/// Labels: `client` (librdkafka's handle name, e.g. `rdkafka#consumer-1`),
/// and `topic`/`partition` or `broker` (node id) where the number is theirs.
struct Families {
    // When the snapshot was taken: alert if it stops moving.
    stats_time: IntGaugeVec,
    // Throughput: messages handed to / received from the brokers.
    sent: IntCounterVec,
    received: IntCounterVec,
    // Producer: messages (and bytes) waiting in the client — queued,
    // in a batch, or sent and waiting for the acknowledgement.
    queue_messages: IntGaugeVec,
    queue_bytes: IntGaugeVec,
    // Producer: how full the batches were (per topic, last interval).
    batch_messages: IntGaugeVec,
    batch_bytes: IntGaugeVec,
    // Per broker, last interval: request round trip, time a record waited
    // in the client before its batch was built, time a request waited to
    // be written to the socket.
    rtt_avg: GaugeVec,
    rtt_p99: GaugeVec,
    int_latency_avg: GaugeVec,
    outbuf_latency_avg: GaugeVec,
    // Per broker, since the client started: what went wrong.
    tx_errors: IntCounterVec,
    tx_retries: IntCounterVec,
    rx_errors: IntCounterVec,
    request_timeouts: IntCounterVec,
    // Consumer, per partition.
    lag: IntGaugeVec,
    lag_stored: IntGaugeVec,
    fetch_queue: IntGaugeVec,
    committed: IntGaugeVec,
    stored: IntGaugeVec,
    high_watermark: IntGaugeVec,
    // Consumer group.
    rebalances: IntCounterVec,
    assigned: IntGaugeVec,
}
// ANCHOR_END: families

/// The metrics of every client that was given a [`crate::lesson::stats::StatsContext`]
/// built from it. Cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    names: Vec<String>,
    families: Families,
    clients: Mutex<Clients>,
}

#[derive(Default)]
struct Clients {
    latest: BTreeMap<String, Statistics>,
    statistics_off: Vec<String>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registrar = Registrar {
            registry: Registry::new(),
            names: Vec::new(),
        };
        let families = Families::register(&mut registrar);
        Metrics {
            inner: Arc::new(Inner {
                registry: registrar.registry,
                names: registrar.names,
                families,
                clients: Mutex::default(),
            }),
        }
    }

    /// Called from the statistics callback: keep the client's latest snapshot.
    pub fn record(&self, statistics: Statistics) {
        let mut clients = self.clients();
        clients.latest.insert(statistics.name.clone(), statistics);
    }

    /// A client was created without statistics (`statistics.interval.ms=0`).
    pub fn statistics_off(&self, what: &str) {
        self.clients().statistics_off.push(what.to_string());
    }

    // ANCHOR: render
    /// The Prometheus text format of the latest snapshots, or why there is
    /// nothing to show. Rebuilt on every scrape from the snapshots alone.
    pub fn render(&self) -> Result<String, NoMetrics> {
        let clients = self.clients();
        if clients.latest.is_empty() {
            return Err(match clients.statistics_off.first() {
                Some(what) => NoMetrics::StatisticsOff(what.clone()),
                None => NoMetrics::NotYet,
            });
        }
        let families = &self.inner.families;
        families.reset();
        for statistics in clients.latest.values() {
            families.fill(statistics);
        }
        let text = TextEncoder::new()
            .encode_to_string(&self.inner.registry.gather())
            .unwrap_or_else(|error| format!("# encoding failed: {error}\n"));
        Ok(text)
    }
    // ANCHOR_END: render

    fn clients(&self) -> std::sync::MutexGuard<'_, Clients> {
        self.inner
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

// ANCHOR: fill
impl Families {
    /// Copies one snapshot into the families. librdkafka reports times in
    /// microseconds; Prometheus wants seconds.
    fn fill(&self, s: &Statistics) {
        let client = s.name.as_str();
        self.stats_time.with_label_values(&[client]).set(s.time);
        set_counter(&self.sent, &[client], s.txmsgs);
        set_counter(&self.received, &[client], s.rxmsgs);
        if s.client_type == "producer" {
            gauge(&self.queue_messages, &[client], s.msg_cnt);
            gauge(&self.queue_bytes, &[client], s.msg_size);
        }
        for (topic, t) in &s.topics {
            if s.client_type == "producer" && t.batchcnt.cnt > 0 {
                // Batches were built in this interval (a consumer's
                // windows count the batches it fetched instead).
                let labels = [client, topic.as_str()];
                self.batch_messages
                    .with_label_values(&labels)
                    .set(t.batchcnt.avg);
                self.batch_bytes
                    .with_label_values(&labels)
                    .set(t.batchsize.avg);
            }
            for (partition, p) in &t.partitions {
                if *partition < 0 || s.client_type != "consumer" || p.fetch_state == "none" {
                    continue; // -1 is librdkafka's "unassigned" queue
                }
                let partition = partition.to_string();
                let labels = [client, topic.as_str(), partition.as_str()];
                self.fetch_queue
                    .with_label_values(&labels)
                    .set(p.fetchq_cnt);
                // -1 (-1001 for offsets) means "not known yet": leave it out.
                for (family, value) in [
                    (&self.lag, p.consumer_lag),
                    (&self.lag_stored, p.consumer_lag_stored),
                    (&self.committed, p.committed_offset),
                    (&self.stored, p.stored_offset),
                    (&self.high_watermark, p.hi_offset),
                ] {
                    if value >= 0 {
                        family.with_label_values(&labels).set(value);
                    }
                }
            }
        }
        for b in s.brokers.values().filter(|b| b.nodeid >= 0) {
            let broker = b.nodeid.to_string();
            let labels = [client, broker.as_str()];
            window(&self.rtt_avg, &labels, b.rtt.as_ref(), |w| w.avg);
            window(&self.rtt_p99, &labels, b.rtt.as_ref(), |w| w.p99);
            window(
                &self.int_latency_avg,
                &labels,
                b.int_latency.as_ref(),
                |w| w.avg,
            );
            window(
                &self.outbuf_latency_avg,
                &labels,
                b.outbuf_latency.as_ref(),
                |w| w.avg,
            );
            set_counter(&self.tx_errors, &labels, b.txerrs);
            set_counter(&self.tx_retries, &labels, b.txretries);
            set_counter(&self.rx_errors, &labels, b.rxerrs);
            set_counter(&self.request_timeouts, &labels, b.req_timeouts);
        }
        if let Some(group) = &s.cgrp {
            set_counter(&self.rebalances, &[client], group.rebalance_cnt);
            self.assigned
                .with_label_values(&[client])
                .set(i64::from(group.assignment_size));
        }
    }
}
// ANCHOR_END: fill

/// A latency window's statistic in seconds, only if the window saw any
/// request (an empty window reports 0, which is "no data", not "0 s").
fn window(family: &GaugeVec, labels: &[&str], w: Option<&Window>, pick: fn(&Window) -> i64) {
    if let Some(w) = w.filter(|w| w.cnt > 0) {
        family.with_label_values(labels).set(pick(w) as f64 / 1e6);
    }
}

fn gauge(family: &IntGaugeVec, labels: &[&str], value: u64) {
    family
        .with_label_values(labels)
        .set(i64::try_from(value).unwrap_or(i64::MAX));
}

/// librdkafka counts since the client started; after `reset` the counter
/// starts from 0, so adding the count sets it.
fn set_counter<T: TryInto<u64>>(family: &IntCounterVec, labels: &[&str], count: T) {
    let count = count.try_into().unwrap_or(0);
    family.with_label_values(labels).inc_by(count);
}

/// Every metric name [`Metrics::render`] can produce (for dashboards and
/// the tests that check them).
pub fn metric_names() -> Vec<String> {
    Metrics::new().inner.names.clone()
}

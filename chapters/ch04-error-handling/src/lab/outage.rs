//! The outage drills: a producer writing through a broker restart, and a
//! consumer that loses every broker (through the cuttable [`super::link`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Result;
use rdkafka::consumer::StreamConsumer;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::lesson::classify::enqueue;

/// What became of each record sent across an outage.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BurstReport {
    /// The numbers the broker acknowledged.
    pub acknowledged: BTreeSet<u32>,
    /// The numbers that were not stored, with the error librdkafka reported
    /// for each (after its own retries, i.e. at `message.timeout.ms`).
    pub failed: BTreeMap<u32, RDKafkaErrorCode>,
}

/// Sends records `0..count` in small bursts (so the run spans a broker
/// outage) and reports which were acknowledged and why the others failed.
/// While the broker is down, librdkafka keeps the records queued and
/// retries; only a record still unsent after `message.timeout.ms` fails.
/// A full local queue is waited out ([`enqueue`]); any other error at
/// enqueue time ends the drill with that error.
pub async fn produce_in_bursts(
    producer: &FutureProducer,
    topic: &str,
    count: u32,
) -> Result<BurstReport> {
    let payloads: Vec<String> = (0..count).map(|i| i.to_string()).collect();
    let mut pending = Vec::with_capacity(payloads.len());
    for chunk in payloads.chunks(20) {
        for payload in chunk {
            let record = FutureRecord::<(), _>::to(topic)
                .partition(0)
                .payload(payload);
            pending.push(enqueue(producer, record, Duration::from_secs(60)).await?);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut report = BurstReport::default();
    for (seq, result) in (0..count).zip(futures::future::join_all(pending).await) {
        match result {
            Ok(Ok(_)) => {
                report.acknowledged.insert(seq);
            }
            Ok(Err((error, _))) => {
                let code = error.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
                report.failed.insert(seq, code);
            }
            // The producer went away before reporting: not stored as far as we know.
            Err(_canceled) => {
                report.failed.insert(seq, RDKafkaErrorCode::Fail);
            }
        }
    }
    Ok(report)
}

/// What a consumer saw while every broker was out of reach.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OutageView {
    /// Records received (none can arrive while the brokers are unreachable).
    pub records: usize,
    /// Error codes `recv()` returned, in order, without repeats.
    pub errors: Vec<RDKafkaErrorCode>,
}

/// Keeps calling `recv()` for `window` while the brokers are unreachable.
/// librdkafka reports the outage through the consumer as errors
/// (`AllBrokersDown`, `BrokerTransportFailure`) but keeps reconnecting on
/// its own: they are events to log, not reasons to stop the loop.
pub async fn watch_outage(consumer: &StreamConsumer, window: Duration) -> OutageView {
    let mut view = OutageView::default();
    let deadline = tokio::time::Instant::now() + window;
    while let Ok(received) = tokio::time::timeout_at(deadline, consumer.recv()).await {
        match received {
            Ok(_) => view.records += 1,
            Err(error) => {
                let code = error.rdkafka_error_code();
                if let Some(code) = code.filter(|c| !view.errors.contains(c)) {
                    view.errors.push(code);
                }
            }
        }
    }
    view
}

//! A producer at a steady rate, watched through its statistics: the
//! workload of the queue-depth, latency and linger experiments.

use std::time::Duration;

use rdkafka::Statistics;
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::lesson::stats::StatsContext;

/// What a paced run saw.
#[derive(Debug, Clone, Default)]
pub struct PacedRun {
    pub sent: usize,
    /// Every snapshot that arrived while sending and until the last ack.
    pub snapshots: Vec<Statistics>,
}

impl PacedRun {
    /// The largest producer queue (`msg_cnt`) any snapshot saw.
    pub fn peak_queue(&self) -> u64 {
        self.snapshots.iter().map(|s| s.msg_cnt).max().unwrap_or(0)
    }

    /// The mean over snapshots of a per-broker window's `avg` (µs), for
    /// windows that saw requests; `None` if none did.
    pub fn broker_window_avg(
        &self,
        pick: fn(&rdkafka::statistics::Broker) -> Option<&rdkafka::statistics::Window>,
    ) -> Option<f64> {
        let values: Vec<f64> = self
            .snapshots
            .iter()
            .flat_map(|s| s.brokers.values().filter(|b| b.nodeid >= 0))
            .filter_map(pick)
            .filter(|w| w.cnt > 0)
            .map(|w| w.avg as f64)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// The mean over snapshots of `topic`'s `batchcnt.avg`, for windows
    /// that saw batches.
    pub fn batch_messages_avg(&self, topic: &str) -> Option<f64> {
        let values: Vec<f64> = self
            .snapshots
            .iter()
            .filter_map(|s| s.topics.get(topic))
            .filter(|t| t.batchcnt.cnt > 0)
            .map(|t| t.batchcnt.avg as f64)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }
}

/// Sends `per_tick` records every `tick`, `ticks` times, without waiting
/// for acknowledgements in between, then waits for all of them. Every
/// send error (QueueFull included: the queue is far from full at these
/// rates) is returned.
pub async fn run_paced(
    producer: &FutureProducer<StatsContext>,
    context: &StatsContext,
    topic: &str,
    per_tick: usize,
    tick: Duration,
    ticks: usize,
) -> Result<PacedRun, KafkaError> {
    let mut run = PacedRun::default();
    let mut seen = context.callbacks();
    let mut collect = |run: &mut PacedRun| {
        if context.callbacks() != seen {
            seen = context.callbacks();
            run.snapshots.extend(context.latest());
        }
    };
    let mut deliveries = Vec::with_capacity(per_tick * ticks);
    let mut interval = tokio::time::interval(tick);
    for t in 0..ticks {
        interval.tick().await;
        for i in 0..per_tick {
            let payload = format!("tick {t} record {i}");
            let record = FutureRecord::<(), _>::to(topic).payload(&payload);
            let delivery = producer.send_result(record).map_err(|(error, _)| error)?;
            deliveries.push(delivery);
        }
        collect(&mut run);
    }
    run.sent = deliveries.len();
    let mut acks = futures::future::join_all(deliveries);
    loop {
        tokio::select! {
            results = &mut acks => {
                for result in results {
                    match result {
                        Ok(Ok(_)) => {}
                        Ok(Err((error, _))) => return Err(error),
                        Err(_canceled) => return Err(KafkaError::Canceled),
                    }
                }
                break;
            }
            () = tokio::time::sleep(Duration::from_millis(20)) => collect(&mut run),
        }
    }
    collect(&mut run);
    Ok(run)
}

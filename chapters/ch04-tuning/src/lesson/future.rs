//! `FutureProducer`: one `DeliveryFuture` per record, awaited in async code
//! — fast only when thousands are in flight at once. And the opposite: one
//! record per `send().await`, the synchronous-send trap.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use super::config::{ProducerSettings, producer_config};
use super::measure::{Latencies, Load, Measured, Pace};
use super::send::{measured, warm_up};

/// `FutureProducer` end to end: create, warm up, send `load`, await every
/// delivery. Every future has completed when it returns, so nothing is left
/// to `flush` (and no blocking call runs on the async runtime).
pub async fn run_future(
    bootstrap: &str,
    topic: &str,
    settings: &ProducerSettings,
    load: Load<'_>,
) -> Result<Measured> {
    let producer: FutureProducer = producer_config(bootstrap, settings).create()?;
    warm_up(producer.client(), topic)?;
    let latencies = Latencies::with_capacity(load.records);
    let started = Instant::now();
    future_loop(&producer, topic, load, &latencies).await?;
    measured(&latencies, started, load)
}

// ANCHOR: future_loop
/// `FutureProducer`: every `send_result` returns a `DeliveryFuture` (a
/// oneshot channel completed from librdkafka's callback). Thousands must be
/// in flight at once for batching to work, so the futures go to a collector
/// task that awaits them as they complete; awaiting each before the next
/// send would put one record in each batch.
pub async fn future_loop(
    producer: &FutureProducer,
    topic: &str,
    load: Load<'_>,
    latencies: &Latencies,
) -> Result<()> {
    let pace = Pace::new(load.rate);
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
        for i in 0..load.records {
            if let Some(wait) = pace.ahead(i) {
                tokio::time::sleep(wait).await;
            }
            let mut record = FutureRecord::<(), [u8]>::to(topic).payload(load.payload);
            let delivery = loop {
                let sent = Instant::now();
                match producer.send_result(record) {
                    Ok(delivery) => break (sent, delivery),
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
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
) -> Result<Measured> {
    let settings = ProducerSettings {
        linger_ms,
        ..ProducerSettings::default()
    };
    let producer: FutureProducer = producer_config(bootstrap, &settings).create()?;
    warm_up(producer.client(), topic)?;
    let latencies = Latencies::with_capacity(records);
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
    Ok(Measured {
        records,
        bytes: 0,
        seconds: started.elapsed().as_secs_f64(),
        latency: latencies.percentiles(),
    })
}
// ANCHOR_END: sync_sends

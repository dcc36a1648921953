//! The backpressure drill: a consumer in front of a slow worker pauses its
//! partitions instead of buffering without limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use tokio::sync::mpsc::error::TrySendError;

/// What the bounded consumer observed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowReport {
    pub processed: usize,
    pub max_in_flight: usize,
    pub pauses: usize,
}

/// A consumer that hands records to a slower worker through a bounded
/// channel. When the channel is full it pauses its partitions — librdkafka
/// then stops fetching for them — waits for room, and resumes. Memory stays
/// bounded by `capacity` records however slow the worker is; offsets are
/// stored by the worker, after processing.
pub async fn consume_with_bounded_work(
    consumer: Arc<StreamConsumer>,
    expected: usize,
    capacity: usize,
    work: Duration,
) -> Result<FlowReport> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<OwnedMessage>(capacity);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let worker = {
        let (consumer, in_flight) = (consumer.clone(), in_flight.clone());
        tokio::spawn(async move {
            let mut processed = 0;
            while let Some(message) = receiver.recv().await {
                tokio::time::sleep(work).await; // the slow part
                // The record's own offset: librdkafka stores offset + 1 itself.
                consumer.store_offset(message.topic(), message.partition(), message.offset())?;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                processed += 1;
                if processed == expected {
                    break;
                }
            }
            anyhow::Ok(processed)
        })
    };
    let (mut handed, mut max_in_flight, mut pauses) = (0, 0, 0);
    while handed < expected {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .context("no record within 30 s")??
            .detach();
        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        max_in_flight = max_in_flight.max(now);
        match sender.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(message)) => {
                // Full: stop fetching, wait for the worker, then fetch again.
                let assignment = consumer.assignment()?;
                consumer.pause(&assignment)?;
                pauses += 1;
                sender.send(message).await.context("worker stopped")?;
                consumer.resume(&assignment)?;
            }
            // The worker stopped: its error is reported below.
            Err(TrySendError::Closed(_)) => break,
        }
        handed += 1;
    }
    let processed = worker.await??;
    consumer.commit_consumer_state(CommitMode::Sync)?;
    Ok(FlowReport {
        processed,
        max_in_flight,
        pauses,
    })
}

//! The consume loop the bench measures: a `BaseConsumer` in a consumer group,
//! polled from a plain thread (blocking code: in async code, use
//! `StreamConsumer::recv` instead, or run this in `spawn_blocking`).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::config::{ConsumerSettings, consumer_config};
use super::measure::{Measured, STALL_TIMEOUT};

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
) -> Result<Measured> {
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
    Ok(Measured {
        records: count,
        bytes,
        seconds: first.map_or(0.0, |f| f.elapsed().as_secs_f64()),
        latency: None,
    })
}
// ANCHOR_END: consume_loop

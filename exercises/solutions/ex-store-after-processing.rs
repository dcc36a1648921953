//! 三.2 exercise: offsets that mean "processed".
//!
//! With librdkafka's defaults, `recv` stores a record's offset (+1) the
//! moment it hands the record out, and the background auto-commit sends it.
//! If the process dies between `recv` and the end of processing, the group
//! has already moved past a record nobody processed: it is lost.
//!
//! Make the offset move only after processing: turn off the automatic store
//! (the auto-commit keeps running) and store each record yourself once it
//! is processed.

use anyhow::Result;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::BorrowedMessage;

/// A member of `group` that starts at the beginning of the topic.
pub fn store_after_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest");
    config.set("enable.auto.offset.store", "false");
    config
}

/// Reads records and hands each to `process` until `process` fails (a
/// crash, for this exercise) — then returns that error.
pub async fn consume(
    consumer: &StreamConsumer,
    mut process: impl FnMut(&BorrowedMessage<'_>) -> Result<()>,
) -> Result<()> {
    loop {
        let message = consumer.recv().await?;
        process(&message)?;
        consumer.store_offset_from_message(&message)?;
    }
}

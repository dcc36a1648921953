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
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::BorrowedMessage;

/// A member of `group` that starts at the beginning of the topic.
pub fn store_after_config(bootstrap: &str, group: &str) -> ClientConfig {
    #[allow(unused_mut)] // TODO(1) changes it
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest");
    // TODO(1): stop librdkafka from storing the offset when `recv` hands a
    // record out (the auto-commit itself stays on).
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
        // TODO(2): the record is processed: store its offset now, so the
        // auto-commit (or the commit on close) sends it.
    }
}

//! The Kafka side: typed events become (key, value, headers) on the way out
//! and go through the header check and a decoder on the way in.
//!
//! Nothing here knows about formats beyond [`Outgoing`]: Kafka moves bytes,
//! and the contract travels next to them in the headers.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::BorrowedMessage;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::avro::AvroWriter;
use super::event::{Click, ClickV2};
use super::headers::{self, Envelope};
use super::protobuf;

/// The producer settings this chapter relies on.
pub const PRODUCER_SETTINGS: &[&str] = &["acks", "enable.idempotence", "compression.type"];
/// The consumer settings this chapter relies on.
pub const CONSUMER_SETTINGS: &[&str] = &[
    "auto.offset.reset",
    "enable.auto.commit",
    "enable.auto.offset.store",
];

// ANCHOR: producer_config
pub fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        // Serialization does not change delivery: acks=all (the default) and
        // idempotence, as chapter 二 recommends.
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: consumer_config
pub fn consumer_config(bootstrap: &str, group: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        // Offsets are stored after a record was handled (decoded, or refused
        // and reported) and committed in the background and on shutdown.
        .set("enable.auto.offset.store", "false");
    config
}
// ANCHOR_END: consumer_config

/// One record ready to send: the key, the encoded value, the headers.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub key: String,
    pub value: Vec<u8>,
    pub envelope: Envelope,
}

// ANCHOR: outgoing
impl Outgoing {
    /// Key = user id: every event of one user goes to the same partition, so
    /// a consumer sees them in order. The key is plain UTF-8, not Protobuf:
    /// partitioning hashes the key bytes, and every client in any language
    /// must produce the same bytes for the same user.
    pub fn protobuf_v1(click: &Click) -> Self {
        Outgoing {
            key: click.user_id.clone(),
            value: protobuf::encode_v1(&click.into()),
            envelope: Envelope::new(headers::PROTOBUF, 1),
        }
    }

    pub fn protobuf_v2(click: &ClickV2) -> Self {
        Outgoing {
            key: click.user_id.clone(),
            value: protobuf::encode_v2(&click.into()),
            envelope: Envelope::new(headers::PROTOBUF, 2),
        }
    }

    pub fn avro<T: Serialize>(
        writer: &AvroWriter,
        version: u32,
        user_id: &str,
        value: &T,
    ) -> Result<Self> {
        Ok(Outgoing {
            key: user_id.to_string(),
            value: writer.encode(value)?,
            envelope: Envelope::new(headers::AVRO, version),
        })
    }
}
// ANCHOR_END: outgoing

// ANCHOR: send
/// Sends every record (queued in order, awaited together) and returns each
/// one's (partition, offset). `send` waits up to 30 s for room when
/// librdkafka's local queue is full (`QueueFull`); every other error — and a
/// record that was never delivered — is returned, not retried.
pub async fn send_all(
    producer: &FutureProducer,
    topic: &str,
    records: &[Outgoing],
) -> Result<Vec<(i32, i64)>> {
    let sends = records.iter().map(|r| {
        let record = FutureRecord::to(topic)
            .key(&r.key)
            .payload(&r.value)
            .headers(r.envelope.to_headers());
        producer.send(record, Duration::from_secs(30))
    });
    let mut delivered = Vec::with_capacity(records.len());
    for result in futures::future::join_all(sends).await {
        let delivery = result.map_err(|(e, _)| e).context("delivering a record")?;
        delivered.push((delivery.partition, delivery.offset));
    }
    Ok(delivered)
}

/// Waits until every queued record was delivered (or failed). `flush` blocks
/// its thread, so it runs on a blocking thread, not on the async runtime.
pub async fn flush(producer: &FutureProducer) -> Result<()> {
    let producer = producer.clone();
    tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(30)))
        .await?
        .context("flushing the producer")
}
// ANCHOR_END: send

/// When a consume loop ends.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// After this many records.
    After(usize),
    /// Only on SIGINT/SIGTERM.
    OnSignal,
}

// ANCHOR: consume
/// The read loop: receive, hand the record to `handle` (which checks the
/// headers and decodes), then store its offset. Offsets are committed in the
/// background and once more, synchronously, on the way out — also on
/// SIGINT/SIGTERM. Fails if no record arrives within `idle`.
pub async fn consume(
    consumer: &StreamConsumer,
    stop_at: Stop,
    idle: Duration,
    stop: &CancellationToken,
    mut handle: impl FnMut(&BorrowedMessage<'_>),
) -> Result<usize> {
    let mut handled = 0;
    loop {
        if let Stop::After(n) = stop_at
            && handled >= n
        {
            break;
        }
        let message = tokio::select! {
            message = consumer.recv() => message.context("receiving")?,
            () = stop.cancelled() => break,
            () = tokio::time::sleep(idle), if matches!(stop_at, Stop::After(_)) => {
                bail!("only {handled} records arrived; nothing more within {idle:?}")
            }
        };
        handle(&message);
        consumer.store_offset_from_message(&message)?;
        handled += 1;
    }
    match consumer.commit_consumer_state(CommitMode::Sync) {
        // Nothing stored since the last commit: nothing to commit.
        Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => Ok(handled),
        Err(e) => Err(e).context("final commit"),
    }
}
// ANCHOR_END: consume

/// A subscribed consumer for `topic`.
pub fn subscribe(bootstrap: &str, topic: &str, group: &str) -> Result<StreamConsumer> {
    let consumer: StreamConsumer = consumer_config(bootstrap, group).create()?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

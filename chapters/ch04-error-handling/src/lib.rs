//! Chapter 四 (errors): what goes wrong, and what to do about it.
//!
//! Most errors a producer meets are retried by librdkafka on its own; the
//! application's job is to bound that (timeouts), to fail fast on the ones
//! retrying cannot fix, and — on the consumer side — to keep one bad record
//! from stopping the partition: the dead-letter topic.

pub mod link;
pub mod retry;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// What to do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Transient: librdkafka already retries it (within `message.timeout.ms`).
    LibrdkafkaRetries,
    /// The local queue is full: slow the source down, then send again.
    BackOff,
    /// Retrying cannot help: fix the input, the config or the cluster.
    FailFast,
    /// The client instance is unusable (e.g. a fatal idempotence error): recreate it.
    Recreate,
    /// librdkafka already retried until `message.timeout.ms`: alert, set the
    /// record aside, or let the caller decide — retrying again only extends the timeout.
    RetriesExhausted,
}

// ANCHOR: classify
/// The errors a producer and a consumer really meet, and the strategy for each.
pub fn classify(error: &KafkaError) -> Strategy {
    use RDKafkaErrorCode as E;
    match error.rdkafka_error_code() {
        Some(E::QueueFull) => Strategy::BackOff,
        // Retried internally until message.timeout.ms; if it still surfaces,
        // the outage outlasted the timeout the application chose.
        Some(
            E::BrokerTransportFailure
            | E::AllBrokersDown
            | E::NotEnoughReplicas
            | E::NotEnoughReplicasAfterAppend
            | E::LeaderNotAvailable
            | E::NotLeaderForPartition
            | E::RequestTimedOut,
        ) => Strategy::LibrdkafkaRetries,
        Some(E::MessageTimedOut) => Strategy::RetriesExhausted,
        Some(E::Fatal) => Strategy::Recreate,
        Some(
            E::MessageSizeTooLarge
            | E::UnknownTopicOrPartition
            | E::UnknownTopic
            | E::TopicAuthorizationFailed
            | E::ClusterAuthorizationFailed
            | E::GroupAuthorizationFailed
            | E::InvalidConfig,
        ) => Strategy::FailFast,
        _ => Strategy::FailFast,
    }
}
// ANCHOR_END: classify

/// A producer for this chapter (idempotent, bounded).
pub fn producer_config(bootstrap: &str, timeout_ms: u32) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", timeout_ms.to_string());
    config
}

// ANCHOR: unknown_topic
/// Writing to a topic that does not exist (broker auto-creation off).
/// librdkafka waits up to `topic.metadata.propagation.max.ms` (default 30 s)
/// for the topic to appear — it might just have been created — and only
/// then fails the record with `UnknownTopicOrPartition`. If
/// `message.timeout.ms` runs out first, all you learn is "timed out".
pub async fn send_to(
    bootstrap: &str,
    topic: &str,
    timeout_ms: u32,
    propagation_ms: Option<u32>,
) -> Result<(), KafkaError> {
    let mut config = producer_config(bootstrap, timeout_ms);
    if let Some(ms) = propagation_ms {
        config.set("topic.metadata.propagation.max.ms", ms.to_string());
    }
    let producer: FutureProducer = config.create()?;
    let record = FutureRecord::<(), _>::to(topic).payload("hello");
    producer
        .send(record, Duration::from_secs(5))
        .await
        .map(|_| ())
        .map_err(|(e, _)| e)
}
// ANCHOR_END: unknown_topic

/// Header names on dead-letter records.
pub mod dlq_headers {
    pub const TOPIC: &str = "dlq.original.topic";
    pub const PARTITION: &str = "dlq.original.partition";
    pub const OFFSET: &str = "dlq.original.offset";
    pub const ERROR: &str = "dlq.error";
    pub const ATTEMPTS: &str = "dlq.attempts";
    pub const FAILED_AT: &str = "dlq.failed.at.ms";
}

/// What the consumer did with each record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DlqReport {
    pub processed: Vec<i64>,
    pub dead_lettered: Vec<i64>,
}

// ANCHOR: dead_letter
/// Sends a record that could not be processed to `<topic>.dlq`, with where
/// it came from and why, and waits for the acknowledgement — only then may
/// the consumer move past it.
pub async fn dead_letter(
    producer: &FutureProducer,
    message: &BorrowedMessage<'_>,
    error: &str,
    attempts: u32,
) -> Result<()> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let (partition, offset) = (
        message.partition().to_string(),
        message.offset().to_string(),
    );
    let (attempts, now) = (attempts.to_string(), now.to_string());
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: dlq_headers::TOPIC,
            value: Some(message.topic()),
        })
        .insert(Header {
            key: dlq_headers::PARTITION,
            value: Some(&partition),
        })
        .insert(Header {
            key: dlq_headers::OFFSET,
            value: Some(&offset),
        })
        .insert(Header {
            key: dlq_headers::ERROR,
            value: Some(error),
        })
        .insert(Header {
            key: dlq_headers::ATTEMPTS,
            value: Some(&attempts),
        })
        .insert(Header {
            key: dlq_headers::FAILED_AT,
            value: Some(&now),
        });
    let dlq = format!("{}.dlq", message.topic());
    forward(producer, &dlq, message, headers).await
}

/// Copies `message` (key and value unchanged) to `to` with `headers`, and
/// waits for the acknowledgement.
pub async fn forward(
    producer: &FutureProducer,
    to: &str,
    message: &impl Message,
    headers: OwnedHeaders,
) -> Result<()> {
    let mut record = FutureRecord::to(to).headers(headers);
    if let Some(key) = message.key() {
        record = record.key(key);
    }
    if let Some(payload) = message.payload() {
        record = record.payload(payload);
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)
        .with_context(|| format!("writing offset {} to {to}", message.offset()))?;
    Ok(())
}
// ANCHOR_END: dead_letter

// ANCHOR: consume_with_dlq
/// The consumer loop: up to `max_attempts` tries per record (with a short
/// back-off), then the dead-letter topic; the offset is stored either way,
/// so one poison record never blocks the partition.
pub async fn consume_with_dlq(
    consumer: &StreamConsumer,
    dlq_producer: &FutureProducer,
    expected: usize,
    max_attempts: u32,
    mut handle: impl FnMut(&[u8]) -> Result<()>,
) -> Result<DlqReport> {
    let mut report = DlqReport::default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while report.processed.len() + report.dead_lettered.len() < expected {
        if Instant::now() > deadline {
            bail!(
                "handled {} of {expected} records within 60 s",
                report.processed.len() + report.dead_lettered.len()
            );
        }
        let Ok(message) = tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
        else {
            continue;
        };
        let message = message?;
        let payload = message.payload().unwrap_or_default();
        let mut attempt = 0;
        let outcome = loop {
            attempt += 1;
            match handle(payload) {
                Ok(()) => break Ok(()),
                Err(error) if attempt >= max_attempts => break Err(error),
                Err(_) => tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await,
            }
        };
        match outcome {
            Ok(()) => report.processed.push(message.offset()),
            Err(error) => {
                dead_letter(dlq_producer, &message, &format!("{error:#}"), attempt).await?;
                report.dead_lettered.push(message.offset());
            }
        }
        consumer.store_offset_from_message(&message)?;
    }
    consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync)?;
    Ok(report)
}
// ANCHOR_END: consume_with_dlq

/// A group member that stores offsets only when the loop says so.
pub fn consumer(bootstrap: &str, topic: &str, group: &str) -> Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.offset.store", "false")
        .create()?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

/// Reads one header of a message as UTF-8.
pub fn header(message: &impl Message, name: &str) -> Option<String> {
    let headers = message.headers()?;
    (0..headers.count())
        .map(|i| headers.get(i))
        .find(|h| h.key == name)
        .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
}

// ANCHOR: through_outage
/// Sends records `0..count` in small bursts (so the run spans a broker
/// outage) and returns the numbers that were acknowledged. While the broker
/// is down, librdkafka keeps the records queued and retries; only a record
/// still unsent after `message.timeout.ms` fails.
pub async fn produce_in_bursts(
    producer: &FutureProducer,
    topic: &str,
    count: u32,
) -> Result<std::collections::BTreeSet<u32>> {
    let payloads: Vec<String> = (0..count).map(|i| i.to_string()).collect();
    let mut pending = Vec::with_capacity(payloads.len());
    for chunk in payloads.chunks(20) {
        for payload in chunk {
            let record = FutureRecord::<(), _>::to(topic)
                .partition(0)
                .payload(payload);
            pending.push(producer.send(record, Duration::from_secs(60)));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut acknowledged = std::collections::BTreeSet::new();
    for (seq, result) in (0..count).zip(futures::future::join_all(pending).await) {
        if result.is_ok() {
            acknowledged.insert(seq);
        }
    }
    Ok(acknowledged)
}
// ANCHOR_END: through_outage

/// What the bounded consumer observed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowReport {
    pub processed: usize,
    pub max_in_flight: usize,
    pub pauses: usize,
}

// ANCHOR: bounded_work
/// A consumer that hands records to a slower worker through a bounded
/// channel. When the channel is full it pauses its partitions — librdkafka
/// then stops fetching for them — waits for room, and resumes. Memory stays
/// bounded by `capacity` records however slow the worker is; offsets are
/// stored by the worker, after processing.
pub async fn consume_with_bounded_work(
    consumer: std::sync::Arc<StreamConsumer>,
    expected: usize,
    capacity: usize,
    work: Duration,
) -> Result<FlowReport> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (sender, mut receiver) =
        tokio::sync::mpsc::channel::<rdkafka::message::OwnedMessage>(capacity);
    let in_flight = std::sync::Arc::new(AtomicUsize::new(0));
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
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(message)) = sender.try_send(message)
        {
            // Full: stop fetching, wait for the worker, then fetch again.
            let assignment = consumer.assignment()?;
            consumer.pause(&assignment)?;
            pauses += 1;
            sender.send(message).await.context("worker stopped")?;
            consumer.resume(&assignment)?;
        }
        handed += 1;
    }
    let processed = worker.await??;
    consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync)?;
    Ok(FlowReport {
        processed,
        max_in_flight,
        pauses,
    })
}
// ANCHOR_END: bounded_work

/// What a consumer saw while every broker was out of reach.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OutageView {
    /// Records received (none can arrive while the brokers are unreachable).
    pub records: usize,
    /// Error codes `recv()` returned, in order, without repeats.
    pub errors: Vec<RDKafkaErrorCode>,
}

// ANCHOR: consumer_outage
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
// ANCHOR_END: consumer_outage

/// How a bounded shutdown ended.
#[derive(Debug)]
pub enum Closed {
    /// The final commit was confirmed and the consumer closed.
    Committed,
    /// The group refused or failed the commit: the records processed since
    /// the last confirmed commit will be delivered again.
    CommitFailed(KafkaError),
    /// No answer within the limit. The commit and close go on in the
    /// background until librdkafka gives up (at `session.timeout.ms` when the
    /// coordinator is gone); the caller may exit. Records processed since the
    /// last confirmed commit will be delivered again, unless that background
    /// commit still gets through.
    GaveUp {
        pending: std::sync::mpsc::Receiver<Result<(), KafkaError>>,
    },
}

// ANCHOR: close_within
/// Commits what was processed and closes the consumer, but never waits
/// longer than `limit`. With the coordinator unreachable a synchronous
/// commit blocks until the group session times out (45 s by default), and
/// closing the consumer can block too — so both run on a thread of their
/// own, and the caller waits only as long as it chose to.
pub async fn close_within<C>(consumer: C, limit: Duration) -> Closed
where
    C: Consumer + Send + 'static,
{
    let (done, result) = std::sync::mpsc::channel();
    // A plain thread, not spawn_blocking: the runtime waits for blocking
    // tasks when it shuts down, which would bring the hang back at exit.
    std::thread::spawn(move || {
        let committed = consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync);
        drop(consumer); // leaves the group (close); may block too
        let _ = done.send(committed);
    });
    let deadline = Instant::now() + limit;
    loop {
        match result.try_recv() {
            Ok(Ok(())) => return Closed::Committed,
            // Nothing stored since the last commit: nothing to lose either.
            Ok(Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset))) => {
                return Closed::Committed;
            }
            Ok(Err(error)) => return Closed::CommitFailed(error),
            Err(_) if Instant::now() >= deadline => return Closed::GaveUp { pending: result },
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
// ANCHOR_END: close_within

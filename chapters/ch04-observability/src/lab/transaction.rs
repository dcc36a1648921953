//! A transaction left open on purpose: its records are written (every one
//! acknowledged) but neither committed nor aborted yet, so the partition's
//! last stable offset (LSO) stays in front of them while the high
//! watermark moves past them.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::error::KafkaResult;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

/// How long the broker lets a transaction stay open before it aborts it
/// itself. Bounds what a failed test leaves behind; long enough for one
/// run of Kafka's JVM tool while the transaction is open.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);

/// A transactional producer with one transaction in progress.
pub struct OpenTransaction {
    producer: Arc<FutureProducer>,
}

impl OpenTransaction {
    /// Begins a transaction and writes `count` records to `partition` of
    /// `topic`, waiting for each acknowledgement: when this returns, the
    /// records are in the log (they move the high watermark), uncommitted.
    pub async fn write(
        bootstrap: &str,
        transactional_id: &str,
        topic: &str,
        partition: i32,
        count: usize,
    ) -> KafkaResult<OpenTransaction> {
        let producer: Arc<FutureProducer> = Arc::new(
            ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .set("transactional.id", transactional_id)
                .set(
                    "transaction.timeout.ms",
                    TRANSACTION_TIMEOUT.as_millis().to_string(),
                )
                .set("message.timeout.ms", "30000")
                .create()?,
        );
        blocking(&producer, |p| {
            p.init_transactions(Duration::from_secs(30))?;
            p.begin_transaction()
        })
        .await?;
        for i in 0..count {
            let payload = format!("transactional record {i}");
            let record = FutureRecord::<(), _>::to(topic)
                .partition(partition)
                .payload(&payload);
            producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(error, _)| error)?;
        }
        Ok(OpenTransaction { producer })
    }

    /// Commits: the broker writes a commit marker (one more offset) and
    /// the LSO moves to the high watermark.
    pub async fn commit(self) -> KafkaResult<()> {
        blocking(&self.producer, |p| {
            p.commit_transaction(Duration::from_secs(30))
        })
        .await
    }

    /// Aborts: an abort marker, the records are never handed to a
    /// read_committed consumer, and the LSO moves to the high watermark.
    pub async fn abort(self) -> KafkaResult<()> {
        blocking(&self.producer, |p| {
            p.abort_transaction(Duration::from_secs(30))
        })
        .await
    }
}

/// The transactional calls block (each is bounded by its own timeout):
/// run them on a blocking thread.
async fn blocking(
    producer: &Arc<FutureProducer>,
    call: impl FnOnce(&FutureProducer) -> KafkaResult<()> + Send + 'static,
) -> KafkaResult<()> {
    let producer = Arc::clone(producer);
    match tokio::task::spawn_blocking(move || call(&producer)).await {
        Ok(result) => result,
        // Only a panic inside `call` gets here: pass it on.
        Err(error) => std::panic::resume_unwind(error.into_panic()),
    }
}

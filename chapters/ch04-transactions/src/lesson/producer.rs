//! The transactional producer: its configuration, a bound on every
//! transactional call, and what to do about each error such a call returns.

use std::thread;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::producer::{BaseProducer, Producer};

/// The bound on every transactional call (init, send offsets, flush,
/// commit, abort). A coordinator that does not answer becomes a retriable
/// timeout error, never a hang.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a retriable error is retried before the instance gives up.
pub const ATTEMPTS: u32 = 5;

// ANCHOR: producer_config
/// A transactional producer's configuration.
///
/// - `transactional.id`: the identity that survives restarts. A new instance
///   with the same id finishes what the old one left open (a transaction
///   that was not committed is aborted) and fences the old one. It also
///   turns on `enable.idempotence`.
/// - `transaction.timeout.ms`: the coordinator aborts a transaction it has
///   not heard about for this long (default 60 s). librdkafka lowers
///   `message.timeout.ms` to it, so no record outlives its transaction.
pub fn producer_config(bootstrap: &str, transactional_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("transactional.id", transactional_id)
        .set("transaction.timeout.ms", "30000");
    config
}
// ANCHOR_END: producer_config

// ANCHOR: create
/// Creates the producer and initialises its transactions: this asks the
/// coordinator for the producer id and a new epoch, which aborts whatever
/// an earlier instance with the same `transactional.id` left open and
/// fences that instance.
pub fn create(config: &ClientConfig) -> KafkaResult<BaseProducer> {
    let producer: BaseProducer = config.create()?;
    retrying(|| producer.init_transactions(CALL_TIMEOUT))?;
    Ok(producer)
}
// ANCHOR_END: create

// ANCHOR: classify
/// What librdkafka says to do about an error from a transactional call
/// (INTRODUCTION.md, "Transactional Producer", and `rdkafka.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A temporary problem (a timeout, a lost connection): call again.
    Retry,
    /// The transaction failed: abort it, rewind the input to the committed
    /// offsets, start a new one.
    Abort,
    /// The producer is unusable (fenced by a newer instance, or worse):
    /// stop, and create a new instance with the same `transactional.id`.
    Fatal,
}

pub fn classify(error: &KafkaError) -> Class {
    match error {
        KafkaError::Transaction(e) if e.is_fatal() => Class::Fatal,
        KafkaError::Transaction(e) if e.txn_requires_abort() => Class::Abort,
        KafkaError::Transaction(e) if e.is_retriable() => Class::Retry,
        // A flush that timed out carries none of the transactional flags;
        // some records may be undelivered, so this transaction cannot commit.
        KafkaError::Flush(_) => Class::Abort,
        // librdkafka: an error with none of the flags is to be treated as fatal.
        _ => Class::Fatal,
    }
}
// ANCHOR_END: classify

// ANCHOR: retrying
/// Calls `call` again while it fails with a retriable error, at most
/// [`ATTEMPTS`] times; returns the first other outcome (or the last
/// retriable error). librdkafka asks for the *same* arguments on a retry
/// (for `send_offsets_to_transaction`: the same offsets and metadata).
pub fn retrying<T>(mut call: impl FnMut() -> KafkaResult<T>) -> KafkaResult<T> {
    let mut attempt = 1;
    loop {
        match call() {
            Err(error) if classify(&error) == Class::Retry && attempt < ATTEMPTS => {
                tracing::warn!("retriable ({attempt}/{ATTEMPTS}): {error}");
                attempt += 1;
                thread::sleep(Duration::from_millis(200));
            }
            outcome => return outcome,
        }
    }
}
// ANCHOR_END: retrying

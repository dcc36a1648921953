//! The transactional producer: its configuration, a bound on every
//! transactional call, and what to do about each error such a call returns.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};

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

// ANCHOR: abort
/// Aborts the open transaction. librdkafka's abort first drops the records
/// still queued, then waits until the delivery report of every record of
/// the transaction has been *served*. rust-rdkafka takes those reports as
/// events, and a `BaseProducer` serves events only in `poll` — which nobody
/// calls while `abort_transaction` blocks ("the event queue must be polled
/// for delivery report events in a separate thread or prior to calling
/// abort", `rdkafka_txnmgr.c`). So an abort right after `send` times out,
/// however long it is given (test `abort_needs_its_delivery_reports_served`).
/// Here each attempt is short and serves the reports first (rust-rdkafka's
/// `flush` polls); a timed-out abort resumes where it stopped.
pub fn abort<C: ProducerContext>(producer: &BaseProducer<C>) -> KafkaResult<()> {
    let deadline = Instant::now() + CALL_TIMEOUT * 3;
    loop {
        // Its error does not matter: the records are being aborted.
        let _ = producer.flush(Duration::from_millis(500));
        match producer.abort_transaction(Duration::from_secs(2)) {
            Err(error) if classify(&error) == Class::Retry && Instant::now() < deadline => {
                tracing::warn!("abort not finished yet: {error}");
            }
            outcome => return outcome,
        }
    }
}
// ANCHOR_END: abort

// ANCHOR: watchdog
/// Runs a transactional call that librdkafka may not bound. With a broker
/// gone, `send_offsets_to_transaction` can block past its timeout (test
/// `send_offsets_to_transaction_outlives_its_timeout_when_a_broker_dies`),
/// even for good: the timeout of its request to the group coordinator is
/// never checked (librdkafka#5456), and a coordinator that vanished from
/// the metadata is never looked up again (librdkafka#5511). A C call cannot
/// be cancelled, only outlived: if `call` has not returned after `limit`,
/// the process exits with an error. That is a crash like any other: the
/// next instance with the same `transactional.id` aborts what this one left
/// open (`init_transactions`), and the input is read again.
pub fn or_exit<T>(limit: Duration, what: &str, call: impl FnOnce() -> T) -> T {
    let what = what.to_string();
    watch(limit, call, move || {
        eprintln!(
            "error: {what} did not return within {limit:?} (librdkafka#5456): \
             exiting; start this instance again"
        );
        std::process::exit(1);
    })
}
// ANCHOR_END: watchdog

/// Calls `call`; runs `overdue` on another thread if `call` takes longer than `limit`.
fn watch<T>(
    limit: Duration,
    call: impl FnOnce() -> T,
    overdue: impl FnOnce() + Send + 'static,
) -> T {
    let (returned, watched) = mpsc::channel::<()>();
    thread::spawn(move || {
        // `returned` is dropped when `call` returns: Disconnected, not Timeout.
        if let Err(RecvTimeoutError::Timeout) = watched.recv_timeout(limit) {
            overdue();
        }
    });
    let outcome = call();
    drop(returned);
    outcome
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    fn flag() -> (Arc<AtomicBool>, impl FnOnce() + Send + 'static) {
        let raised = Arc::new(AtomicBool::new(false));
        let setter = Arc::clone(&raised);
        (raised, move || setter.store(true, Ordering::SeqCst))
    }

    #[test]
    fn a_call_that_overstays_its_limit_is_reported() {
        let (raised, overdue) = flag();
        watch(
            Duration::from_millis(50),
            || thread::sleep(Duration::from_millis(300)),
            overdue,
        );
        assert!(raised.load(Ordering::SeqCst));
    }

    #[test]
    fn a_call_that_returns_in_time_is_not() {
        let (raised, overdue) = flag();
        assert_eq!(watch(Duration::from_millis(100), || 7, overdue), 7);
        thread::sleep(Duration::from_millis(300));
        assert!(!raised.load(Ordering::SeqCst));
    }
}

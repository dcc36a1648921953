//! What both read-process-write loops share: how they batch, the stages the
//! lab's crash drill can stop at, what they report, the "process" step, and
//! a send that waits out a full queue.

use std::time::Duration;

use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord};

/// How the loop batches, and when the demo stops.
#[derive(Debug, Clone)]
pub struct Options {
    pub output: String,
    /// Commit at least this often…
    pub commit_every: Duration,
    /// …and after this many records.
    pub max_batch: u64,
    /// Return after this long without input (a service runs until `stop`).
    pub idle_exit: Option<Duration>,
}

/// Where the loop is; the lab's crash drill stops the worker at one of
/// these points. The loop itself only reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// This transaction's output records are flushed: in the log, invisible.
    Produced,
    /// The input offsets are part of the transaction too.
    OffsetsSent,
    /// Output and offsets are committed together.
    Committed,
    /// The transaction was aborted and the input rewound.
    Aborted,
}

/// What the loop did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub records: u64,
    pub transactions: u64,
    pub aborts: u64,
}

/// The "process" of read-process-write: upper-case the payload.
pub fn transform(payload: &[u8]) -> Vec<u8> {
    payload.to_ascii_uppercase()
}

/// `send`, waiting out a full local queue (serving delivery reports frees
/// room); every other error is returned.
pub fn send(producer: &BaseProducer, mut record: BaseRecord<'_, [u8], Vec<u8>>) -> KafkaResult<()> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                record = unsent;
                producer.poll(Duration::from_millis(100));
            }
            Err((error, _)) => return Err(error),
        }
    }
}

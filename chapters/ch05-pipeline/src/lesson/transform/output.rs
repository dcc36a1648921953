//! What the transform writes inside the open transaction: window results
//! and dead letters (四.3's headers).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ch04_error_handling::lesson::dead_letter::dlq_headers;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer};

use super::{Mode, State, Transform};
use crate::lesson::ingest::now_ms;
use crate::lesson::results;

impl Transform {
    pub(super) fn begin(&self, state: &mut State) -> Result<()> {
        if state.open.is_none() {
            if self.options.mode == Mode::ExactlyOnce {
                self.producer.begin_transaction()?;
            }
            state.open = Some(Instant::now());
        }
        Ok(())
    }

    /// Sends window results (keyed by user or page) inside the open transaction.
    pub(super) fn emit(&self, state: &mut State, due: &[results::WindowResult]) -> Result<()> {
        if due.is_empty() {
            return Ok(());
        }
        self.begin(state)?;
        let headers = OwnedHeaders::new().insert(Header {
            key: "content-type",
            value: Some(results::CONTENT_TYPE),
        });
        for result in due {
            let value = results::encode(result);
            let record = BaseRecord::to(&self.options.output)
                .key(results::key(result).as_bytes())
                .payload(&value[..])
                .headers(headers.clone());
            self.send(record)?;
        }
        state.totals.results += due.len() as u64;
        Ok(())
    }

    /// 四.3's dead letter — its headers, but inside this transaction: the
    /// record lands in the DLQ exactly when its offset is committed.
    pub(super) fn dead_letter(&self, message: &BorrowedMessage<'_>, error: &str) -> Result<()> {
        let (partition, offset) = (
            message.partition().to_string(),
            message.offset().to_string(),
        );
        let now = now_ms().to_string();
        let headers = [
            (dlq_headers::TOPIC, message.topic()),
            (dlq_headers::PARTITION, &partition),
            (dlq_headers::OFFSET, &offset),
            (dlq_headers::ERROR, error),
            (dlq_headers::ATTEMPTS, "1"),
            (dlq_headers::FAILED_AT, &now),
        ]
        .into_iter()
        .fold(OwnedHeaders::new(), |h, (key, value)| {
            h.insert(Header {
                key,
                value: Some(value),
            })
        });
        let mut record = BaseRecord::to(&self.options.dlq).headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        if let Some(payload) = message.payload() {
            record = record.payload(payload);
        }
        self.send(record)
    }

    /// `send`, waiting out a full queue (serving delivery reports frees room).
    pub(super) fn send(&self, mut record: BaseRecord<'_, [u8], [u8]>) -> Result<()> {
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), unsent)) => {
                    record = unsent;
                    self.producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => return Err(error).context("sending a result"),
            }
        }
    }
}

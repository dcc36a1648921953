//! Check the login once, at start, and fail fast with the reason.
//!
//! librdkafka treats a failed TLS handshake or a rejected password like any
//! other broken connection: it reports the error to the client's error
//! callback and reconnects, again and again. A producer would queue
//! records until `message.timeout.ms`; a consumer would wait forever. So a
//! program asks for metadata once at start, watches the error callback, and
//! stops at the first security error with librdkafka's own words.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, Producer, ProducerContext};

// ANCHOR: context
/// Keeps the errors librdkafka reports for the client as a whole.
#[derive(Default)]
pub struct SecurityContext {
    errors: Mutex<Vec<(RDKafkaErrorCode, String)>>,
    /// Connection failures librdkafka only logs (facility `FAIL`).
    failures: Mutex<Vec<String>>,
}

impl ClientContext for SecurityContext {
    /// Handshake and SASL failures arrive here (`_SSL`, `_AUTHENTICATION`,
    /// `_TRANSPORT`), once per failed connection attempt, often next to a
    /// summary "1/1 brokers are down" (`_ALL_BROKERS_DOWN`).
    fn error(&self, error: KafkaError, reason: &str) {
        let code = error.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
        if let Ok(mut errors) = self.errors.lock() {
            errors.push((code, reason.to_string()));
        }
    }

    /// Some failures are only logged, e.g. a connection the broker closed
    /// because the client spoke the wrong protocol.
    fn log(&self, _level: RDKafkaLogLevel, fac: &str, message: &str) {
        if fac == "FAIL"
            && let Ok(mut failures) = self.failures.lock()
        {
            // Drop librdkafka's "[thrd:…]: " prefix.
            let text = message.split_once("]: ").map_or(message, |(_, rest)| rest);
            failures.push(text.to_string());
        }
    }
}

impl SecurityContext {
    /// The first error that says why (not just "all brokers down").
    pub fn specific_error(&self) -> Option<(RDKafkaErrorCode, String)> {
        let errors = self.errors.lock().ok()?;
        errors
            .iter()
            .find(|(code, _)| *code != RDKafkaErrorCode::AllBrokersDown)
            .cloned()
    }

    /// Something failed: the first logged connection failure, else the
    /// first error of any kind.
    pub fn any_failure(&self) -> Option<String> {
        let logged = self.failures.lock().ok()?.first().cloned();
        logged.or_else(|| Some(self.errors.lock().ok()?.first()?.1.clone()))
    }
}

// A BaseProducer's `poll` serves the queue the error callback runs from.
impl ProducerContext for SecurityContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: ()) {}
}
// ANCHOR_END: context

/// Why the login failed: the kind decides what the reader fixes.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The TLS handshake failed: unknown CA, wrong host name, expired
    /// certificate… Fix `ssl.ca.location` or the address, never by turning
    /// verification off.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// The broker rejected the SASL login (wrong password or unknown user:
    /// the broker does not say which).
    #[error("SASL authentication failed: {0}")]
    Authentication(String),
    /// The connection broke before TLS or SASL could start, e.g. a
    /// `PLAINTEXT` client talking to a `SASL_SSL` listener: the broker
    /// hangs up and librdkafka often says no more than "1/1 brokers are down".
    #[error(
        "connection failed: {0} (does security.protocol match the listener, and is the broker up?)"
    )]
    Transport(String),
    #[error("{code:?}: {reason}")]
    Other {
        code: RDKafkaErrorCode,
        reason: String,
    },
    #[error("no answer within {0:?} and no error reported")]
    TimedOut(Duration),
    #[error("invalid client configuration: {0}")]
    Config(KafkaError),
}

// ANCHOR: check_login
/// Connects with `config`, asks for cluster metadata, and returns the
/// number of brokers — or the first error librdkafka reported, as soon as
/// it is reported, and at the latest after `limit`.
pub fn check_login(config: &ClientConfig, limit: Duration) -> Result<usize, LoginError> {
    let client: BaseProducer<SecurityContext> = config
        .create_with_context(SecurityContext::default())
        .map_err(LoginError::Config)?;
    let deadline = Instant::now() + limit;
    let mut failing_since = None;
    loop {
        // Short metadata requests, so an error is noticed within ~0.5 s.
        if let Ok(metadata) = client
            .client()
            .fetch_metadata(None, Duration::from_millis(500))
        {
            return Ok(metadata.brokers().len());
        }
        // Runs the error callback. `poll(ZERO)` serves one event, and
        // "brokers are down" events can queue up ahead of the one that says
        // why: serve a handful each time round.
        for _ in 0..16 {
            client.poll(Duration::ZERO);
        }
        let context = client.context();
        if let Some((code, reason)) = context.specific_error() {
            return Err(match code {
                RDKafkaErrorCode::SSL => LoginError::Tls(reason),
                RDKafkaErrorCode::Authentication => LoginError::Authentication(reason),
                RDKafkaErrorCode::BrokerTransportFailure => LoginError::Transport(reason),
                code => LoginError::Other { code, reason },
            });
        }
        // A connection failed without a specific error yet (e.g. the broker
        // hung up on a client that spoke the wrong protocol): give the error
        // callback a second to say more, then report what was logged, in
        // librdkafka's own words.
        if let Some(reason) = context.any_failure() {
            let since = *failing_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(1) {
                return Err(logged_failure(reason));
            }
        }
        if Instant::now() >= deadline {
            return Err(LoginError::TimedOut(limit));
        }
    }
}

/// Sorts a logged connection failure by the words librdkafka uses for it
/// (`rdkafka_ssl.c`: "SSL handshake failed"; `rdkafka_request.c`: "SASL
/// authentication error").
fn logged_failure(reason: String) -> LoginError {
    if reason.contains("SSL handshake failed") {
        LoginError::Tls(reason)
    } else if reason.contains("SASL authentication error") {
        LoginError::Authentication(reason)
    } else {
        LoginError::Transport(reason)
    }
}
// ANCHOR_END: check_login

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_failure_is_sorted_by_librdkafkas_words() {
        let tls = "sasl_ssl://127.0.0.1:9392/bootstrap: SSL handshake failed: error:0A000086:\
                   SSL routines::certificate verify failed (after 6ms in state SSL_HANDSHAKE)";
        assert!(matches!(logged_failure(tls.into()), LoginError::Tls(_)));
        let sasl = "sasl_ssl://localhost:9392/bootstrap: SASL authentication error: \
                    Authentication failed during authentication due to invalid credentials";
        assert!(matches!(
            logged_failure(sasl.into()),
            LoginError::Authentication(_)
        ));
        let hung_up = "localhost:9392/bootstrap: Disconnected: connection closed by peer";
        assert!(matches!(
            logged_failure(hung_up.into()),
            LoginError::Transport(_)
        ));
    }
}

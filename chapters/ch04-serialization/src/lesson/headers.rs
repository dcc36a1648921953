//! What travels next to the bytes: Kafka record headers that say how to read
//! the value, checked by the consumer *before* it decodes anything.
//!
//! Protobuf bytes carry no type name and no version, and Avro bytes cannot
//! even be parsed without the writer schema. A consumer that guesses decodes
//! garbage — often without any error. So the producer states the format in
//! headers, and the consumer refuses what it does not understand.

use rdkafka::message::{Header, Headers, OwnedHeaders};

pub const CONTENT_TYPE: &str = "content-type";
pub const SCHEMA: &str = "schema";
pub const SCHEMA_VERSION: &str = "schema-version";

pub const PROTOBUF: &str = "application/x-protobuf";
/// Avro single-object encoding (the value starts with `C3 01` + fingerprint).
pub const AVRO: &str = "application/vnd.apache.avro+single-object";
pub const JSON: &str = "application/json";

/// The logical schema name. It stays the same across compatible versions; a
/// breaking change gets a new name (and, in practice, a new topic).
pub const CLICK_SCHEMA: &str = "tutorial.clicks.ClickEvent";

/// How a record's value is encoded, as its headers state it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub content_type: String,
    pub schema: String,
    pub version: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("record has no `{0}` header: refusing to guess how its value is encoded")]
    Missing(&'static str),
    #[error("header `{header}` is not UTF-8 text")]
    NotText { header: &'static str },
    #[error("content-type {found:?}: this consumer decodes only {expected:?}")]
    WrongContentType { found: String, expected: String },
    #[error("schema {found:?}: this consumer reads only {expected:?}")]
    WrongSchema { found: String, expected: String },
    #[error("schema-version {0:?} is not a positive integer")]
    BadVersion(String),
}

// ANCHOR: headers
impl Envelope {
    pub fn new(content_type: &str, version: u32) -> Self {
        Envelope {
            content_type: content_type.into(),
            schema: CLICK_SCHEMA.into(),
            version,
        }
    }

    /// The Kafka headers the producer attaches to every record.
    pub fn to_headers(&self) -> OwnedHeaders {
        OwnedHeaders::new()
            .insert(Header {
                key: CONTENT_TYPE,
                value: Some(self.content_type.as_str()),
            })
            .insert(Header {
                key: SCHEMA,
                value: Some(self.schema.as_str()),
            })
            .insert(Header {
                key: SCHEMA_VERSION,
                value: Some(&self.version.to_string()),
            })
    }

    /// Reads and checks the headers of a received record: the content type
    /// must be `expected_content_type` and the schema ours. Any version is
    /// accepted — compatible evolution is the rule within one schema name —
    /// and returned, so the caller knows which writer version it reads.
    pub fn check<H: Headers>(
        headers: Option<&H>,
        expected_content_type: &str,
    ) -> Result<Envelope, EnvelopeError> {
        let content_type = header(headers, CONTENT_TYPE)?;
        if content_type != expected_content_type {
            return Err(EnvelopeError::WrongContentType {
                found: content_type,
                expected: expected_content_type.into(),
            });
        }
        let schema = header(headers, SCHEMA)?;
        if schema != CLICK_SCHEMA {
            return Err(EnvelopeError::WrongSchema {
                found: schema,
                expected: CLICK_SCHEMA.into(),
            });
        }
        let version = header(headers, SCHEMA_VERSION)?;
        let version = match version.parse::<u32>() {
            Ok(v) if v > 0 => v,
            _ => return Err(EnvelopeError::BadVersion(version)),
        };
        Ok(Envelope {
            content_type,
            schema,
            version,
        })
    }
}

/// The last header named `name` (headers may repeat; the last one wins).
fn header<H: Headers>(headers: Option<&H>, name: &'static str) -> Result<String, EnvelopeError> {
    let value = headers
        .and_then(|h| h.iter().filter(|h| h.key == name).last())
        .and_then(|h| h.value)
        .ok_or(EnvelopeError::Missing(name))?;
    String::from_utf8(value.to_vec()).map_err(|_| EnvelopeError::NotText { header: name })
}
// ANCHOR_END: headers

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_are_checked() {
        let headers = Envelope::new(PROTOBUF, 2).to_headers();
        assert_eq!(
            Envelope::check(Some(&headers), PROTOBUF),
            Ok(Envelope::new(PROTOBUF, 2))
        );
        assert!(matches!(
            Envelope::check(Some(&headers), AVRO),
            Err(EnvelopeError::WrongContentType { .. })
        ));
        assert_eq!(
            Envelope::check::<OwnedHeaders>(None, PROTOBUF),
            Err(EnvelopeError::Missing(CONTENT_TYPE))
        );
    }

    #[test]
    fn a_repeated_header_is_kept_twice_and_the_last_one_counts() {
        // Headers are a list, not a map (KIP-82): a name may repeat.
        let headers = Envelope::new(PROTOBUF, 1).to_headers().insert(Header {
            key: CONTENT_TYPE,
            value: Some(JSON),
        });
        let content_types = headers.iter().filter(|h| h.key == CONTENT_TYPE).count();
        assert_eq!(content_types, 2);
        assert!(matches!(
            Envelope::check(Some(&headers), PROTOBUF),
            Err(EnvelopeError::WrongContentType { .. })
        ));
        assert_eq!(
            Envelope::check(Some(&headers), JSON),
            Ok(Envelope::new(JSON, 1))
        );
    }
}

//! A consumer's decoder: headers first, then the bytes, into the version of
//! the event this consumer was built against — whichever version wrote them.

use rdkafka::message::Message;

use super::avro::{self, AvroError, AvroReader};
use super::event::{Click, ClickV2};
use super::headers::{self, Envelope, EnvelopeError};
use super::protobuf;

/// The two wire formats of this chapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Avro,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => headers::PROTOBUF,
            Format::Avro => headers::AVRO,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Protobuf => "protobuf",
            Format::Avro => "avro",
        }
    }
}

/// The event as this consumer's version of the schema sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    V1(Click),
    V2(ClickV2),
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error(transparent)]
    Avro(#[from] AvroError),
    #[error("record has no value")]
    Empty,
}

// ANCHOR: decoder
/// Decodes records of one format into one version of the event.
pub struct ClickDecoder {
    format: Format,
    reader_version: u32,
    /// Avro: every writer schema this consumer may meet, resolved into its own.
    avro: AvroReader,
}

impl ClickDecoder {
    pub fn new(format: Format, reader_version: u32) -> Result<Self, AvroError> {
        let reader_schema = if reader_version == 1 {
            &avro::V1
        } else {
            &avro::V2
        };
        Ok(ClickDecoder {
            format,
            reader_version,
            avro: AvroReader::new(reader_schema, &[&avro::V1, &avro::V2])?,
        })
    }

    /// Checks the headers, then decodes. The envelope tells the caller which
    /// schema version the *writer* used.
    pub fn decode(&self, message: &impl Message) -> Result<(Envelope, Decoded), DecodeError> {
        let envelope = Envelope::check(message.headers(), self.format.content_type())?;
        let bytes = message.payload().ok_or(DecodeError::Empty)?;
        Ok((envelope, self.decode_value(bytes)?))
    }

    /// Decodes a value whose headers were checked.
    pub fn decode_value(&self, bytes: &[u8]) -> Result<Decoded, DecodeError> {
        Ok(match (self.format, self.reader_version) {
            // Protobuf needs no writer schema: field numbers and wire types
            // are in the bytes; fields this version does not know are skipped.
            (Format::Protobuf, 1) => Decoded::V1(Click::from(&protobuf::decode_v1(bytes)?)),
            (Format::Protobuf, _) => Decoded::V2(ClickV2::from(&protobuf::decode_v2(bytes)?)),
            // Avro finds the writer schema by fingerprint and resolves.
            (Format::Avro, 1) => Decoded::V1(self.avro.decode(bytes)?),
            (Format::Avro, _) => Decoded::V2(self.avro.decode(bytes)?),
        })
    }
}
// ANCHOR_END: decoder

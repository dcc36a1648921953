//! Avro with `apache-avro`: schemas from `avro/*.avsc`, Avro single-object
//! encoding on the wire, and writer/reader schema resolution on the way in.
//!
//! An Avro datum carries no field names or tags: it can only be read with
//! the exact schema it was written with (the *writer* schema). Avro's
//! evolution works by giving the decoder both schemas: it reads the bytes with
//! the writer schema and *resolves* the result into the reader schema
//! (fields matched by name; missing ones take the reader's default; extra ones
//! are dropped). So every record must say which schema wrote it. Single-object
//! encoding does that with 10 bytes: `C3 01` and the schema's 64-bit
//! CRC-64-AVRO (Rabin) fingerprint.

use std::sync::LazyLock;

use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The schema texts, embedded from the crate's `avro/` directory.
pub const V1_JSON: &str = include_str!("../../avro/click_v1.avsc");
pub const V2_JSON: &str = include_str!("../../avro/click_v2.avsc");
pub const V2_NO_DEFAULT_JSON: &str = include_str!("../../avro/click_v2_no_default.avsc");
pub const V2_TYPE_CHANGE_JSON: &str = include_str!("../../avro/click_v2_type_change.avsc");

fn parse(json: &str) -> Schema {
    // The texts are part of the binary; a unit test parses each of them.
    Schema::parse_str(json).unwrap_or_else(|e| panic!("embedded Avro schema does not parse: {e}"))
}

pub static V1: LazyLock<Schema> = LazyLock::new(|| parse(V1_JSON));
pub static V2: LazyLock<Schema> = LazyLock::new(|| parse(V2_JSON));
/// Deliberately incompatible "v2"s, for the drills that show what breaks.
pub static V2_NO_DEFAULT: LazyLock<Schema> = LazyLock::new(|| parse(V2_NO_DEFAULT_JSON));
pub static V2_TYPE_CHANGE: LazyLock<Schema> = LazyLock::new(|| parse(V2_TYPE_CHANGE_JSON));

/// The first two bytes of every single-object encoded Avro record.
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];
/// The marker and the 8-byte fingerprint: what comes before the datum.
pub const SINGLE_OBJECT_HEADER_LEN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum AvroError {
    #[error(
        "value is {len} bytes: Avro single-object encoding needs at least \
         {SINGLE_OBJECT_HEADER_LEN} (C3 01 + an 8-byte fingerprint)"
    )]
    TooShort { len: usize },
    #[error("not Avro single-object encoding: expected the marker C3 01, found {found:02X?}")]
    NotSingleObject { found: Vec<u8> },
    #[error(
        "unknown Avro writer schema (fingerprint {fingerprint}): this consumer knows {known}; \
         deploy the new schema to consumers first, or look it up in a schema registry"
    )]
    UnknownWriterSchema { fingerprint: String, known: String },
    #[error("Avro: {0}")]
    Avro(#[from] apache_avro::Error),
}

// ANCHOR: fingerprint
/// The schema's Parsing Canonical Form, as the Avro specification defines it.
///
/// apache-avro 0.22 writes a primitive with a logical type as
/// `{"type":"long"}` where the specification's [PRIMITIVES] rule (and Java,
/// fastavro, …) say `"long"`. The fingerprint of that text then differs from
/// every other implementation's, and a Python or Java consumer would not
/// recognise our records. So we apply the rule ourselves: canonical form has
/// no whitespace and names cannot contain quotes, so a textual replacement is exact.
pub fn parsing_canonical_form(schema: &Schema) -> String {
    let mut form = schema.canonical_form();
    for primitive in [
        "null", "boolean", "int", "long", "float", "double", "bytes", "string",
    ] {
        form = form.replace(
            &format!(r#"{{"type":"{primitive}"}}"#),
            &format!(r#""{primitive}""#),
        );
    }
    form
}

/// CRC-64-AVRO (the Rabin fingerprint of the specification), computed as
/// its reference code does.
pub fn crc64_avro(bytes: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    static TABLE: LazyLock<[u64; 256]> = LazyLock::new(|| {
        let mut table = [0; 256];
        for (i, slot) in table.iter_mut().enumerate() {
            let mut fp = i as u64;
            for _ in 0..8 {
                fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
            }
            *slot = fp;
        }
        table
    });
    bytes.iter().fold(EMPTY, |fp, &b| {
        (fp >> 8) ^ TABLE[((fp ^ u64::from(b)) & 0xff) as usize]
    })
}

/// The 8 bytes that identify `schema` in single-object encoding: CRC-64-AVRO
/// of its Parsing Canonical Form, little-endian.
pub fn fingerprint(schema: &Schema) -> [u8; 8] {
    crc64_avro(parsing_canonical_form(schema).as_bytes()).to_le_bytes()
}
// ANCHOR_END: fingerprint

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ANCHOR: writer
/// Writes values of one schema as single-object encoded records.
pub struct AvroWriter {
    header: Vec<u8>,
    datum: GenericDatumWriter<'static>,
}

impl AvroWriter {
    pub fn new(schema: &'static Schema) -> Result<Self, AvroError> {
        // `C3 01` + which schema wrote the datum: the same 10 bytes on every record.
        let mut header = Vec::with_capacity(SINGLE_OBJECT_HEADER_LEN);
        header.extend_from_slice(&SINGLE_OBJECT_MAGIC);
        header.extend_from_slice(&fingerprint(schema));
        Ok(AvroWriter {
            header,
            // Serializes any `T: Serialize` straight into Avro binary,
            // checking it against the schema as it goes.
            datum: GenericDatumWriter::builder(schema).build()?,
        })
    }

    /// `C3 01` + fingerprint + the Avro binary datum.
    pub fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, AvroError> {
        let mut out = Vec::with_capacity(256);
        self.encode_into(value, &mut out)?;
        Ok(out)
    }

    /// [`Self::encode`], appending to `out`.
    pub fn encode_into<T: Serialize>(&self, value: &T, out: &mut Vec<u8>) -> Result<(), AvroError> {
        out.extend_from_slice(&self.header);
        self.datum.write_ser(out, value)?;
        Ok(())
    }
}
// ANCHOR_END: writer

// ANCHOR: split
/// Takes a single-object encoded value apart: the writer schema's
/// fingerprint and the datum. A value from a producer that did not get the
/// memo may be anything — empty, JSON, two bytes — so every case is an
/// error that says what was found, never a slice out of bounds.
pub fn split_single_object(value: &[u8]) -> Result<([u8; 8], &[u8]), AvroError> {
    let too_short = || AvroError::TooShort { len: value.len() };
    let (magic, rest) = value.split_first_chunk::<2>().ok_or_else(too_short)?;
    if *magic != SINGLE_OBJECT_MAGIC {
        return Err(AvroError::NotSingleObject {
            found: magic.to_vec(),
        });
    }
    let (fingerprint, datum) = rest.split_first_chunk::<8>().ok_or_else(too_short)?;
    Ok((*fingerprint, datum))
}
// ANCHOR_END: split

// ANCHOR: reader
/// Reads single-object encoded records written with any of the `known`
/// writer schemas and resolves them into one reader schema.
pub struct AvroReader {
    known: Vec<([u8; 8], GenericDatumReader<'static>)>,
}

impl AvroReader {
    /// `reader` is the schema this consumer was built against; `known` are
    /// the writer schemas it can expect on the topic (all versions so far).
    pub fn new(reader: &'static Schema, known: &[&'static Schema]) -> Result<Self, AvroError> {
        let known = known
            .iter()
            .map(|writer| {
                let datum = GenericDatumReader::builder(writer)
                    .reader_schema(reader)
                    .build()?;
                Ok((fingerprint(writer), datum))
            })
            .collect::<Result<_, AvroError>>()?;
        Ok(AvroReader { known })
    }

    /// Finds the writer schema by fingerprint, reads the datum with it and
    /// resolves it into the reader schema, then into `T`.
    pub fn decode<T: DeserializeOwned>(&self, value: &[u8]) -> Result<T, AvroError> {
        let (fingerprint, mut datum) = split_single_object(value)?;
        let Some((_, reader)) = self.known.iter().find(|(fp, _)| *fp == fingerprint) else {
            return Err(AvroError::UnknownWriterSchema {
                fingerprint: hex(&fingerprint),
                known: self
                    .known
                    .iter()
                    .map(|(fp, _)| hex(fp))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let value = reader.read_value(&mut datum)?;
        Ok(apache_avro::from_value(&value)?)
    }
}
// ANCHOR_END: reader

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::samples::{sample_click, sample_click_v2};
    use crate::lesson::event::{Click, ClickV2};

    #[test]
    fn every_embedded_schema_parses() {
        for schema in [&*V1, &*V2, &*V2_NO_DEFAULT, &*V2_TYPE_CHANGE] {
            assert!(matches!(schema, Schema::Record(_)));
        }
    }

    #[test]
    fn crc64_avro_matches_the_specification_test_vector() {
        // The Avro project's schema-tests: fingerprint of "null" is 7195948357588979594.
        assert_eq!(crc64_avro(br#""null""#), 7_195_948_357_588_979_594);
    }

    #[test]
    fn v1_round_trip_keeps_every_field() {
        let writer = AvroWriter::new(&V1).unwrap();
        let reader = AvroReader::new(&V1, &[&V1, &V2]).unwrap();
        for i in 0..20 {
            let bytes = writer.encode(&sample_click(i)).unwrap();
            assert_eq!(reader.decode::<Click>(&bytes).unwrap(), sample_click(i));
        }
        let writer = AvroWriter::new(&V2).unwrap();
        let reader = AvroReader::new(&V2, &[&V1, &V2]).unwrap();
        let bytes = writer.encode(&sample_click_v2(4)).unwrap();
        assert_eq!(
            reader.decode::<ClickV2>(&bytes).unwrap(),
            sample_click_v2(4)
        );
    }

    #[test]
    fn a_record_without_the_marker_is_refused_with_what_was_found() {
        let reader = AvroReader::new(&V1, &[&V1]).unwrap();
        let error = reader.decode::<Click>(b"{\"event_id\":1}").unwrap_err();
        assert!(error.to_string().contains("found [7B, 22]"), "{error}");
    }

    #[test]
    fn a_value_shorter_than_the_header_is_an_error_not_a_panic() {
        let whole = AvroWriter::new(&V1)
            .unwrap()
            .encode(&sample_click(0))
            .unwrap();
        let reader = AvroReader::new(&V1, &[&V1]).unwrap();
        // Every prefix shorter than marker + fingerprint, the empty value included.
        for len in 0..SINGLE_OBJECT_HEADER_LEN {
            let error = reader.decode::<Click>(&whole[..len]).unwrap_err();
            assert!(
                matches!(error, AvroError::TooShort { len: l } if l == len),
                "{len} bytes: {error}"
            );
            assert!(error.to_string().contains("needs at least 10"), "{error}");
        }
        // Exactly the header: the fingerprint is found, the datum is empty.
        let (fingerprint, datum) = split_single_object(&whole[..SINGLE_OBJECT_HEADER_LEN]).unwrap();
        assert_eq!((fingerprint, datum), (super::fingerprint(&V1), &[][..]));
        // One byte that is not the marker is still "too short", not a panic.
        assert!(matches!(
            split_single_object(b"{"),
            Err(AvroError::TooShort { len: 1 })
        ));
    }
}

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

use std::io::Read;
use std::sync::LazyLock;

use apache_avro::Schema;
use apache_avro::rabin::Rabin;
use apache_avro::reader::datum::GenericDatumReader;
use apache_avro::writer::datum::GenericDatumWriter;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The schema texts, embedded from the crate's `avro/` directory.
pub const V1_JSON: &str = include_str!("../avro/click_v1.avsc");
pub const V2_JSON: &str = include_str!("../avro/click_v2.avsc");
pub const V2_NO_DEFAULT_JSON: &str = include_str!("../avro/click_v2_no_default.avsc");
pub const V2_TYPE_CHANGE_JSON: &str = include_str!("../avro/click_v2_type_change.avsc");

fn parse(json: &str) -> Schema {
    // The texts are part of the binary; a unit test parses each of them.
    Schema::parse_str(json).unwrap_or_else(|e| panic!("embedded Avro schema does not parse: {e}"))
}

pub static V1: LazyLock<Schema> = LazyLock::new(|| parse(V1_JSON));
pub static V2: LazyLock<Schema> = LazyLock::new(|| parse(V2_JSON));
pub static V2_NO_DEFAULT: LazyLock<Schema> = LazyLock::new(|| parse(V2_NO_DEFAULT_JSON));
pub static V2_TYPE_CHANGE: LazyLock<Schema> = LazyLock::new(|| parse(V2_TYPE_CHANGE_JSON));

/// The first two bytes of every single-object encoded Avro record.
pub const SINGLE_OBJECT_MAGIC: [u8; 2] = [0xC3, 0x01];

#[derive(Debug, thiserror::Error)]
pub enum AvroError {
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

/// What apache-avro itself computes (`Schema::fingerprint::<Rabin>`), for
/// the test that shows where it differs.
pub fn apache_avro_fingerprint(schema: &Schema) -> [u8; 8] {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    let mut out = [0; 8];
    out.copy_from_slice(&bytes[..8]);
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ANCHOR: writer
/// Writes values of one schema as single-object encoded records.
pub struct AvroWriter {
    header: [u8; 10],
    datum: GenericDatumWriter<'static>,
}

impl AvroWriter {
    pub fn new(schema: &'static Schema) -> Result<Self, AvroError> {
        let mut header = [0; 10];
        header[..2].copy_from_slice(&SINGLE_OBJECT_MAGIC);
        header[2..].copy_from_slice(&fingerprint(schema));
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
    pub fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, AvroError> {
        let (header, mut datum) =
            bytes
                .split_at_checked(10)
                .ok_or_else(|| AvroError::NotSingleObject {
                    found: bytes.iter().take(2).copied().collect(),
                })?;
        if header[..2] != SINGLE_OBJECT_MAGIC {
            return Err(AvroError::NotSingleObject {
                found: header[..2].to_vec(),
            });
        }
        let Some((_, reader)) = self.known.iter().find(|(fp, _)| fp[..] == header[2..]) else {
            return Err(AvroError::UnknownWriterSchema {
                fingerprint: hex(&header[2..]),
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

/// Reads a datum (no header) with `writer` as writer schema and, when
/// given, `reader` as reader schema — the building block the tests use to
/// show what happens when the two do not fit.
pub fn read_datum<T: DeserializeOwned>(
    writer: &Schema,
    reader: Option<&Schema>,
    datum: impl Read,
) -> Result<T, AvroError> {
    let value = read_datum_value(writer, reader, datum)?;
    Ok(apache_avro::from_value(&value)?)
}

/// [`read_datum`] into Avro's generic `Value`.
pub fn read_datum_value(
    writer: &Schema,
    reader: Option<&Schema>,
    mut datum: impl Read,
) -> Result<apache_avro::types::Value, AvroError> {
    Ok(GenericDatumReader::builder(writer)
        .maybe_reader_schema(reader)
        .build()?
        .read_value(&mut datum)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Click, ClickV2, sample_click, sample_click_v2};

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
    fn same_hash_as_apache_avro_but_a_different_canonical_form_with_logical_types() {
        // Over apache-avro's own canonical form, our CRC-64-AVRO gives its bytes…
        let theirs = crc64_avro(V1.canonical_form().as_bytes()).to_le_bytes();
        assert_eq!(theirs, apache_avro_fingerprint(&V1));
        // …but its form keeps {"type":"long"} for timestamp-millis, the spec's is "long".
        assert!(V1.canonical_form().contains(r#""type":{"type":"long"}"#));
        assert!(parsing_canonical_form(&V1).contains(r#""name":"occurred_at","type":"long""#));
        assert_ne!(fingerprint(&V1), apache_avro_fingerprint(&V1));
        // Without logical types the two agree.
        let plain = Schema::parse_str(
            r#"{"type":"record","name":"P","fields":[{"name":"a","type":"long"}]}"#,
        )
        .unwrap();
        assert_eq!(fingerprint(&plain), apache_avro_fingerprint(&plain));
    }

    #[test]
    fn apache_avros_single_object_writer_differs_only_in_the_fingerprint() {
        let ours = AvroWriter::new(&V1)
            .unwrap()
            .encode(&sample_click(3))
            .unwrap();
        let value = apache_avro::to_value(sample_click(3))
            .unwrap()
            .resolve(&V1)
            .unwrap();
        let mut theirs = Vec::new();
        apache_avro::GenericSingleObjectWriter::new_with_capacity(&V1, 1024)
            .unwrap()
            .write_value(value, &mut theirs)
            .unwrap();
        assert_eq!(ours[..2], theirs[..2], "C3 01");
        assert_eq!(theirs[2..10], apache_avro_fingerprint(&V1));
        assert_eq!(ours[2..10], fingerprint(&V1));
        assert_eq!(ours[10..], theirs[10..], "the datum itself is identical");
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
}

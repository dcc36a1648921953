//! The evolution drills: compatible changes through the broker (the
//! matrix), and incompatible ones with what really happens.

use std::io::Read;
use std::time::Duration;

use anyhow::Result;
use apache_avro::Schema;
use apache_avro::reader::datum::GenericDatumReader;
use prost::Message;
use rdkafka::message::Message as _;
use rdkafka::producer::FutureProducer;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tutorial_lab::unique_name;

use crate::lab::samples::{sample_click, sample_click_v2};
use crate::lesson::avro::{self, AvroError, AvroWriter};
use crate::lesson::decoder::{ClickDecoder, Decoded, Format};
use crate::lesson::event::ClickV2;
use crate::lesson::kafka::{Outgoing, Stop, consume, producer_config, send_all, subscribe};
use crate::lesson::protobuf::pb::broken;

/// v1 bytes read by a "v2" that reused field number 7 (v1: `referrer`) for
/// a new string field `campaign`. Same wire type, so no error: the referrer
/// URL is silently read as the campaign.
pub fn protobuf_reused_number(
    v1_bytes: &[u8],
) -> Result<broken::ClickEventReusedNumber, prost::DecodeError> {
    broken::ClickEventReusedNumber::decode(v1_bytes)
}

/// v1 bytes read by a "v2" that changed field 8 (`int64 duration_ms`, a
/// varint) into `string duration` (length-delimited): prost refuses the
/// record because the wire type does not match.
pub fn protobuf_changed_type(
    v1_bytes: &[u8],
) -> Result<broken::ClickEventChangedType, prost::DecodeError> {
    broken::ClickEventChangedType::decode(v1_bytes)
}

/// A v1 datum read with a reader schema that added `session_id` without a
/// default: resolution has no value for the field and fails.
pub fn avro_new_field_without_default(v1_datum: &[u8]) -> Result<ClickV2, AvroError> {
    read_datum(&avro::V1, Some(&avro::V2_NO_DEFAULT), v1_datum)
}

/// A v1 datum read with a reader schema in which `duration_ms` became a
/// string: long cannot be promoted to string, resolution fails.
pub fn avro_type_change(v1_datum: &[u8]) -> Result<serde_json::Value, AvroError> {
    let value = read_datum_value(&avro::V1, Some(&avro::V2_TYPE_CHANGE), v1_datum)?;
    Ok(serde_json::Value::String(format!("{value:?}")))
}

/// A v1 datum read by a v2 consumer that assumes "the writer used my
/// schema" instead of looking at the fingerprint. Avro bytes have no field
/// tags, so the reader just walks its own field list over someone else's
/// bytes: v1's `referrer` union index is read as `duration_ms` and the
/// referrer string as `session_id` — no error at all when a referrer was
/// set; an error only when the misread bytes happen to be impossible.
pub fn avro_assumed_writer_schema(v1_datum: &[u8]) -> Result<ClickV2, AvroError> {
    read_datum(&avro::V2, None, v1_datum)
}

/// Reads a datum (no header) with `writer` as writer schema and, when
/// given, `reader` as reader schema — the building block of the drills that
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

/// One cell of the evolution matrix: a record written with schema version
/// `writer`, read by a consumer built against version `reader`.
#[derive(Debug, Clone)]
pub struct Cell {
    pub writer: u32,
    pub reader: u32,
    pub result: Result<Decoded, String>,
    /// The raw value, for the incompatible readers above.
    pub value: Vec<u8>,
}

/// Writes event 0 once with v1 and once with v2 to a fresh topic, then reads
/// both records back with a v1 consumer and a v2 consumer (two groups).
pub async fn matrix(bootstrap: &str, topic: &str, format: Format) -> Result<Vec<Cell>> {
    let producer: FutureProducer = producer_config(bootstrap).create()?;
    let records = match format {
        Format::Protobuf => vec![
            Outgoing::protobuf_v1(&sample_click(0)),
            Outgoing::protobuf_v2(&sample_click_v2(0)),
        ],
        Format::Avro => {
            let (v1, v2) = (sample_click(0), sample_click_v2(0));
            vec![
                Outgoing::avro(&AvroWriter::new(&avro::V1)?, 1, &v1.user_id, &v1)?,
                Outgoing::avro(&AvroWriter::new(&avro::V2)?, 2, &v2.user_id, &v2)?,
            ]
        }
    };
    send_all(&producer, topic, &records).await?;
    let mut cells = Vec::new();
    for reader in [1, 2] {
        let decoder = ClickDecoder::new(format, reader)?;
        let group = unique_name(&format!("ch04-evolution-reader-v{reader}"));
        let consumer = subscribe(bootstrap, topic, &group)?;
        let never = CancellationToken::new();
        consume(
            &consumer,
            Stop::After(2),
            Duration::from_secs(30),
            &never,
            |m| {
                let result = decoder.decode(m);
                cells.push(Cell {
                    writer: result.as_ref().map_or(0, |(e, _)| e.version),
                    reader,
                    result: result.map(|(_, d)| d).map_err(|e| e.to_string()),
                    value: m.payload().unwrap_or_default().to_vec(),
                });
            },
        )
        .await?;
    }
    Ok(cells)
}

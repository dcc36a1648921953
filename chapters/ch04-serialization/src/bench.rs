//! Size and speed of the three encodings on the same events, measured in one
//! run on this machine. Ratios are what carries over to other machines.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Result;
use apache_avro::reader::datum::GenericDatumReader;
use prost::Message;

use crate::avro::{self, AvroReader, AvroWriter};
use crate::pb::v1;
use crate::{Click, sample_click};

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub format: &'static str,
    /// Total encoded bytes over all records.
    pub bytes: usize,
    pub records: usize,
    pub encode_per_sec: f64,
    pub decode_per_sec: f64,
}

impl Row {
    pub fn bytes_per_record(&self) -> f64 {
        self.bytes as f64 / self.records as f64
    }
}

fn rate(records: usize, started: Instant) -> f64 {
    records as f64 / started.elapsed().as_secs_f64().max(1e-9)
}

// ANCHOR: bench
/// Encodes and decodes `records` sample events in each format. Every format
/// starts from its typed Rust value and ends with a typed Rust value.
pub fn measure(records: usize) -> Result<Vec<Row>> {
    let clicks: Vec<Click> = (0..records as u64).map(sample_click).collect();
    let mut rows = Vec::new();

    // Protobuf: prost-generated structs <-> bytes.
    let events: Vec<v1::ClickEvent> = clicks.iter().map(v1::ClickEvent::from).collect();
    let started = Instant::now();
    let encoded: Vec<Vec<u8>> = events
        .iter()
        .map(|e| black_box(e.encode_to_vec()))
        .collect();
    let encode_per_sec = rate(records, started);
    let started = Instant::now();
    for bytes in &encoded {
        black_box(v1::ClickEvent::decode(bytes.as_slice())?);
    }
    rows.push(Row {
        format: "protobuf (prost)",
        bytes: encoded.iter().map(Vec::len).sum(),
        records,
        encode_per_sec,
        decode_per_sec: rate(records, started),
    });

    // Avro: serde structs -> single-object bytes; decoding resolves the
    // writer schema (found by fingerprint) into the reader schema.
    let writer = AvroWriter::new(&avro::V1)?;
    let started = Instant::now();
    let encoded = clicks
        .iter()
        .map(|c| writer.encode(c).map(black_box))
        .collect::<Result<Vec<_>, _>>()?;
    let encode_per_sec = rate(records, started);
    let reader = AvroReader::new(&avro::V1, &[&avro::V1, &avro::V2])?;
    let started = Instant::now();
    for bytes in &encoded {
        black_box(reader.decode::<Click>(bytes)?);
    }
    let avro_bytes: usize = encoded.iter().map(Vec::len).sum();
    rows.push(Row {
        format: "avro (single-object, resolving)",
        bytes: avro_bytes,
        records,
        encode_per_sec,
        decode_per_sec: rate(records, started),
    });

    // Avro read with the writer schema only (no resolution): apache-avro can
    // then deserialize straight into the struct, without a Value tree.
    let direct = GenericDatumReader::builder(&avro::V1).build()?;
    let started = Instant::now();
    for bytes in &encoded {
        let mut datum = &bytes[10..];
        black_box(direct.read_deser::<Click>(&mut datum)?);
    }
    rows.push(Row {
        format: "avro (writer schema only)",
        bytes: avro_bytes,
        records,
        encode_per_sec,
        decode_per_sec: rate(records, started),
    });

    // JSON: the same serde structs, field names in every record.
    let started = Instant::now();
    let encoded = clicks
        .iter()
        .map(|c| serde_json::to_vec(c).map(black_box))
        .collect::<Result<Vec<_>, _>>()?;
    let encode_per_sec = rate(records, started);
    let started = Instant::now();
    for bytes in &encoded {
        black_box(serde_json::from_slice::<Click>(bytes)?);
    }
    rows.push(Row {
        format: "json (serde_json)",
        bytes: encoded.iter().map(Vec::len).sum(),
        records,
        encode_per_sec,
        decode_per_sec: rate(records, started),
    });
    Ok(rows)
}
// ANCHOR_END: bench

/// The table as the chapter prints it; sizes relative to JSON (the last row).
pub fn render(rows: &[Row]) -> String {
    let json = rows
        .iter()
        .find(|r| r.format.starts_with("json"))
        .map_or(1.0, Row::bytes_per_record);
    let mut out = format!(
        "  {:<32} {:>12} {:>8} {:>14} {:>14}\n",
        "format", "bytes/record", "vs JSON", "encode rec/s", "decode rec/s"
    );
    for row in rows {
        out.push_str(&format!(
            "  {:<32} {:>12.1} {:>7.0}% {:>14.0} {:>14.0}\n",
            row.format,
            row.bytes_per_record(),
            100.0 * row.bytes_per_record() / json,
            row.encode_per_sec,
            row.decode_per_sec
        ));
    }
    out
}

//! Size and speed of the three encodings on the same events, measured in one
//! run on this machine. Ratios are what carries over to other machines.

use std::hint::black_box;
use std::time::Instant;

use anyhow::Result;
use apache_avro::reader::datum::GenericDatumReader;
use prost::Message;

use crate::lab::samples::sample_click;
use crate::lesson::avro::{self, AvroReader, AvroWriter, split_single_object};
use crate::lesson::event::Click;
use crate::lesson::protobuf::pb::v1;

/// Timed passes per measurement; the fastest counts (the others lost time
/// to whatever else the machine was doing).
const ROUNDS: usize = 5;

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

/// Records per second of the fastest of [`ROUNDS`] runs of `pass`.
fn best_rate(records: usize, mut pass: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::MAX;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        pass()?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    Ok(records as f64 / best.max(1e-9))
}

/// Encodes and decodes `records` sample events in each format, from the
/// typed Rust value to bytes (into a reused buffer) and back to a typed value.
pub fn measure(records: usize) -> Result<Vec<Row>> {
    let clicks: Vec<Click> = (0..records as u64).map(sample_click).collect();
    let mut buffer = Vec::with_capacity(1024);
    let mut rows = Vec::new();

    // Protobuf: prost-generated structs <-> bytes.
    let events: Vec<v1::ClickEvent> = clicks.iter().map(v1::ClickEvent::from).collect();
    let encoded: Vec<Vec<u8>> = events.iter().map(Message::encode_to_vec).collect();
    rows.push(Row {
        format: "protobuf (prost)",
        bytes: encoded.iter().map(Vec::len).sum(),
        records,
        encode_per_sec: best_rate(records, || {
            for event in &events {
                buffer.clear();
                event.encode(&mut buffer)?;
                black_box(&buffer);
            }
            Ok(())
        })?,
        decode_per_sec: best_rate(records, || {
            for bytes in &encoded {
                black_box(v1::ClickEvent::decode(bytes.as_slice())?);
            }
            Ok(())
        })?,
    });

    // Avro: serde structs -> single-object bytes; decoding finds the writer
    // schema by fingerprint and resolves it into the reader schema.
    let writer = AvroWriter::new(&avro::V1)?;
    let encoded = clicks
        .iter()
        .map(|c| writer.encode(c))
        .collect::<Result<Vec<_>, _>>()?;
    let avro_bytes = encoded.iter().map(Vec::len).sum();
    let avro_encode = best_rate(records, || {
        for click in &clicks {
            buffer.clear();
            writer.encode_into(click, &mut buffer)?;
            black_box(&buffer);
        }
        Ok(())
    })?;
    let reader = AvroReader::new(&avro::V1, &[&avro::V1, &avro::V2])?;
    rows.push(Row {
        format: "avro (single-object, resolving)",
        bytes: avro_bytes,
        records,
        encode_per_sec: avro_encode,
        decode_per_sec: best_rate(records, || {
            for bytes in &encoded {
                black_box(reader.decode::<Click>(bytes)?);
            }
            Ok(())
        })?,
    });

    // Avro read with the writer schema only (no resolution): apache-avro
    // then deserializes straight into the struct, without a Value tree.
    let direct = GenericDatumReader::builder(&avro::V1).build()?;
    rows.push(Row {
        format: "avro (writer schema only)",
        bytes: avro_bytes,
        records,
        encode_per_sec: avro_encode,
        decode_per_sec: best_rate(records, || {
            for bytes in &encoded {
                let (_, mut datum) = split_single_object(bytes)?;
                black_box(direct.read_deser::<Click>(&mut datum)?);
            }
            Ok(())
        })?,
    });

    // JSON: the same serde structs, field names in every record.
    let encoded = clicks
        .iter()
        .map(serde_json::to_vec)
        .collect::<Result<Vec<_>, _>>()?;
    rows.push(Row {
        format: "json (serde_json)",
        bytes: encoded.iter().map(Vec::len).sum(),
        records,
        encode_per_sec: best_rate(records, || {
            for click in &clicks {
                buffer.clear();
                serde_json::to_writer(&mut buffer, click)?;
                black_box(&buffer);
            }
            Ok(())
        })?,
        decode_per_sec: best_rate(records, || {
            for bytes in &encoded {
                black_box(serde_json::from_slice::<Click>(bytes)?);
            }
            Ok(())
        })?,
    });
    Ok(rows)
}

/// The table as the chapter prints it; sizes relative to JSON.
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

//! Cross-language proof: Rust and Python (protobuf + fastavro, talking to
//! Kafka through confluent-kafka) read each other's records on the broker.

mod support;

use std::time::Duration;

use ch04_serialization::lab::apache_avro::apache_avro_fingerprint;
use ch04_serialization::lab::confluent;
use ch04_serialization::lab::evolution::{protobuf_changed_type, read_datum};
use ch04_serialization::lab::samples::{key_text, sample_click, sample_click_v2};
use ch04_serialization::lesson::avro::{self, AvroWriter, split_single_object};
use ch04_serialization::lesson::decoder::{ClickDecoder, Decoded, Format};
use ch04_serialization::lesson::kafka::{
    Outgoing, Stop, consume, producer_config, send_all, subscribe,
};
use ch04_serialization::lesson::protobuf::decode_v1;
use ch04_serialization::{Click, ClickV2};
use rdkafka::producer::FutureProducer;
use serde_json::Value;
use support::{clicks_py, descriptor_file};
use tokio_util::sync::CancellationToken;
use tutorial_lab::{TestTopic, test_cluster, unique_name};

/// What Python printed for each record, parsed.
/// `clicks.py confluent-encode|confluent-decode` on a file of events.
fn confluent(mode: &str, format: Format, input: &std::path::Path) -> Vec<Value> {
    let descriptor = descriptor_file();
    lines(&clicks_py(&[
        mode,
        "--format",
        format.name(),
        "--input",
        &input.to_string_lossy(),
        "--descriptor",
        &descriptor.to_string_lossy(),
    ]))
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Python's output for `count` records of `topic`, by event id.
fn python_reads(topic: &str, format: Format, reader_version: u32, count: usize) -> Vec<Value> {
    let descriptor = descriptor_file();
    let cluster = test_cluster();
    let group = unique_name("ch04-py");
    let mut args = vec![
        "consume",
        "--brokers",
        cluster.bootstrap_servers(),
        "--topic",
        topic,
        "--format",
        format.name(),
        "--group",
        &group,
    ];
    let count = count.to_string();
    let reader = reader_version.to_string();
    args.extend(["--count", &count, "--reader-version", &reader]);
    let descriptor = descriptor.to_string_lossy().into_owned();
    args.extend(["--descriptor", &descriptor]);
    let mut records = lines(&clicks_py(&args));
    records
        .sort_by_key(|r| r["offset"].as_i64().unwrap() + 1000 * r["partition"].as_i64().unwrap());
    records
}

fn event_of<'a>(records: &'a [Value], event_id: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["event"]["event_id"] == event_id)
        .unwrap_or_else(|| panic!("no record for event {event_id} in {records:#?}"))
}

async fn produce_v1_and_v2(bootstrap: &str, topic: &str, format: Format) {
    let producer: FutureProducer = producer_config(bootstrap).create().unwrap();
    let mut records = Vec::new();
    for i in 0..4 {
        records.push(match format {
            Format::Protobuf => Outgoing::protobuf_v1(&sample_click(i)),
            Format::Avro => {
                let c = sample_click(i);
                Outgoing::avro(&AvroWriter::new(&avro::V1).unwrap(), 1, &c.user_id, &c).unwrap()
            }
        });
    }
    for i in 4..6 {
        records.push(match format {
            Format::Protobuf => Outgoing::protobuf_v2(&sample_click_v2(i)),
            Format::Avro => {
                let c = sample_click_v2(i);
                Outgoing::avro(&AvroWriter::new(&avro::V2).unwrap(), 2, &c.user_id, &c).unwrap()
            }
        });
    }
    send_all(&producer, topic, &records).await.unwrap();
}

fn check_python_saw_rust_events(records: &[Value], reader_version: u32) {
    assert_eq!(records.len(), 6);
    for i in 0..6u64 {
        let expected = sample_click(i);
        let got = event_of(records, &expected.event_id);
        assert_eq!(got["writer_version"], if i < 4 { 1 } else { 2 });
        assert_eq!(got["key"], expected.user_id.as_str(), "key = user id");
        let event = &got["event"];
        // The fields both versions share, exactly.
        for field in [
            "event_id",
            "user_id",
            "occurred_at",
            "action",
            "page",
            "tags",
            "duration_ms",
        ] {
            assert_eq!(
                event[field],
                serde_json::to_value(&expected).unwrap()[field],
                "field {field} of event {i}"
            );
        }
        if reader_version == 1 {
            // v1 records keep their referrer; v2 records have none (reader default null).
            let referrer = if i < 4 {
                expected.referrer.clone()
            } else {
                None
            };
            assert_eq!(
                event["referrer"],
                serde_json::to_value(referrer).unwrap(),
                "event {i}"
            );
        } else {
            let session = if i < 4 {
                String::new()
            } else {
                sample_click_v2(i).session_id
            };
            assert_eq!(event["session_id"], session.as_str(), "event {i}");
        }
    }
}

#[tokio::test]
async fn python_decodes_protobuf_records_produced_by_rust_as_v1_and_v2() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-py-pb", 3, 1).await;
    produce_v1_and_v2(cluster.bootstrap_servers(), &topic.name, Format::Protobuf).await;
    for reader in [1, 2] {
        let records = python_reads(&topic.name, Format::Protobuf, reader, 6);
        check_python_saw_rust_events(&records, reader);
    }
}

#[tokio::test]
async fn python_decodes_avro_records_produced_by_rust_with_schema_resolution() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-py-avro", 3, 1).await;
    produce_v1_and_v2(cluster.bootstrap_servers(), &topic.name, Format::Avro).await;
    for reader in [1, 2] {
        let records = python_reads(&topic.name, Format::Avro, reader, 6);
        check_python_saw_rust_events(&records, reader);
    }
}

/// Python produces events 0..6 (given as JSON lines) with schema `version`;
/// Rust reads them back with a v1 and a v2 decoder.
async fn rust_reads_python(format: Format, version: u32) {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-from-py", 3, 1).await;
    let input = std::env::temp_dir().join(unique_name("ch04-events") + ".jsonl");
    let jsonl: String = (0..6)
        .map(|i| {
            let line = if version == 1 {
                serde_json::to_string(&sample_click(i))
            } else {
                serde_json::to_string(&sample_click_v2(i))
            };
            line.unwrap() + "\n"
        })
        .collect();
    std::fs::write(&input, jsonl).unwrap();
    let descriptor = descriptor_file();
    let version_text = version.to_string();
    let out = clicks_py(&[
        "produce",
        "--brokers",
        cluster.bootstrap_servers(),
        "--topic",
        &topic.name,
        "--format",
        format.name(),
        "--schema-version",
        &version_text,
        "--input",
        &input.to_string_lossy(),
        "--descriptor",
        &descriptor.to_string_lossy(),
    ]);
    assert!(out.contains("produced 6"), "{out}");
    let _ = std::fs::remove_file(&input);

    for reader in [1, 2] {
        let decoder = ClickDecoder::new(format, reader).unwrap();
        let consumer = subscribe(
            cluster.bootstrap_servers(),
            &topic.name,
            &unique_name("ch04-rs"),
        )
        .unwrap();
        let mut seen = Vec::new();
        consume(
            &consumer,
            Stop::After(6),
            Duration::from_secs(30),
            &CancellationToken::new(),
            |m| {
                let (envelope, decoded) = decoder
                    .decode(m)
                    .unwrap_or_else(|e| panic!("record from Python refused: {e}"));
                assert_eq!(envelope.version, version);
                let key = key_text(m);
                seen.push((key, decoded));
            },
        )
        .await
        .unwrap();
        assert_eq!(seen.len(), 6);
        for i in 0..6 {
            let (v1, v2) = (sample_click(i), sample_click_v2(i));
            let (key, decoded) = seen
                .iter()
                .find(|(_, d)| match d {
                    Decoded::V1(c) => c.event_id == v1.event_id,
                    Decoded::V2(c) => c.event_id == v1.event_id,
                })
                .unwrap_or_else(|| panic!("event {i} missing: {seen:#?}"));
            assert_eq!(key, &v1.user_id);
            let expected = match (reader, version) {
                (1, 1) => Decoded::V1(v1),
                (1, _) => Decoded::V1(Click {
                    referrer: None,
                    ..v1
                }),
                (_, 1) => Decoded::V2(ClickV2 {
                    session_id: String::new(),
                    ..v2
                }),
                _ => Decoded::V2(v2),
            };
            assert_eq!(
                decoded, &expected,
                "event {i}, writer v{version}, reader v{reader}"
            );
        }
    }
}

#[tokio::test]
async fn rust_decodes_protobuf_records_produced_by_python_v1() {
    rust_reads_python(Format::Protobuf, 1).await;
}

#[tokio::test]
async fn rust_decodes_protobuf_records_produced_by_python_v2() {
    rust_reads_python(Format::Protobuf, 2).await;
}

#[tokio::test]
async fn rust_decodes_avro_records_produced_by_python_v1() {
    rust_reads_python(Format::Avro, 1).await;
}

#[tokio::test]
async fn rust_decodes_avro_records_produced_by_python_v2() {
    rust_reads_python(Format::Avro, 2).await;
}

#[test]
fn fastavro_agrees_with_our_fingerprints_not_with_apache_avros() {
    let out = lines(&clicks_py(&["fingerprints"]));
    for (line, schema) in out.iter().zip([&*avro::V1, &*avro::V2]) {
        assert_eq!(
            line["canonical_form"],
            avro::parsing_canonical_form(schema).as_str()
        );
        assert_eq!(
            line["fingerprint"],
            avro::hex(&avro::fingerprint(schema)).as_str()
        );
        // apache-avro's own fingerprint (timestamp-millis kept as {"type":"long"}) is not it.
        assert_ne!(
            line["fingerprint"],
            avro::hex(&apache_avro_fingerprint(schema)).as_str()
        );
    }
}

// ---- Confluent Schema Registry wire format --------------------------------

fn events_file(range: std::ops::Range<u64>, extra: &[String]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(unique_name("ch04-confluent") + ".txt");
    let mut text: String = range
        .map(|i| serde_json::to_string(&sample_click(i)).unwrap() + "\n")
        .collect();
    for line in extra {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Confluent's own serializers (confluent-kafka for Python, ids assigned by
/// its in-memory mock registry client) write `00` + id (+ message index
/// `00` for protobuf) + payload; our parser takes them apart.
#[test]
fn rust_parses_values_framed_by_confluents_serializers() {
    let input = events_file(0..4, &[]);
    for format in [Format::Avro, Format::Protobuf] {
        let out = confluent("confluent-encode", format, &input);
        assert_eq!(out.len(), 4);
        for (i, line) in out.iter().enumerate() {
            let bytes = hex_decode(line["hex"].as_str().unwrap());
            let expected = sample_click(i as u64);
            let id = line["schema_id"].as_u64().unwrap() as u32;
            match format {
                Format::Avro => {
                    let (schema_id, datum) = confluent::parse_avro(&bytes).unwrap();
                    assert_eq!(schema_id, id);
                    let click: Click = read_datum(&avro::V1, None, datum).unwrap();
                    assert_eq!(click, expected);
                }
                Format::Protobuf => {
                    let (schema_id, indexes, payload) = confluent::parse_protobuf(&bytes).unwrap();
                    assert_eq!((schema_id, indexes), (id, vec![0]));
                    let event = decode_v1(payload).unwrap();
                    assert_eq!(Click::from(&event), expected);
                }
            }
        }
    }
    let _ = std::fs::remove_file(&input);
}

/// And the other way: values framed by Rust with the id the registry gave
/// the schema are read by Confluent's deserializers.
#[test]
fn confluents_deserializers_read_values_framed_by_rust() {
    let writer = AvroWriter::new(&avro::V1).unwrap();
    for format in [Format::Avro, Format::Protobuf] {
        let framed: Vec<String> = (1..4)
            .map(|i| {
                let click = sample_click(i);
                let bytes = match format {
                    Format::Avro => {
                        let value = writer.encode(&click).unwrap();
                        confluent::frame(1, None, split_single_object(&value).unwrap().1)
                    }
                    Format::Protobuf => {
                        confluent::frame(1, Some(&[0]), &Outgoing::protobuf_v1(&click).value)
                    }
                };
                avro::hex(&bytes)
            })
            .collect();
        // First line: an event for Python to serialize, which registers the schema (id 1).
        let input = events_file(0..1, &framed);
        let out = confluent("confluent-decode", format, &input);
        let _ = std::fs::remove_file(&input);
        assert_eq!(out.len(), 3);
        for (line, i) in out.iter().zip(1..) {
            assert_eq!(line["schema_id"], 1, "the id Rust framed with");
            let decoded: Click = serde_json::from_value(line["event"].clone()).unwrap();
            assert_eq!(decoded, sample_click(i), "{format:?}");
        }
    }
}

fn hex_decode(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex: {text}");
    text.as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// The same incompatible change (field 8: int64 -> string) in two
/// implementations: prost refuses the record; Google's Python protobuf
/// accepts it, reads `duration` as "" and keeps the varint as an unknown
/// field, which it writes out again unchanged.
#[test]
fn a_changed_wire_type_is_an_error_in_prost_but_an_unknown_field_in_python() {
    let click = sample_click(0);
    let bytes = Outgoing::protobuf_v1(&click).value;
    assert!(protobuf_changed_type(&bytes).is_err());

    let descriptor = descriptor_file();
    let out = lines(&clicks_py(&[
        "decode-as",
        "--descriptor",
        &descriptor.to_string_lossy(),
        "--message",
        "tutorial.clicks.broken.ClickEventChangedType",
        "--hex",
        &avro::hex(&bytes),
    ]));
    let fields = &out[0]["fields"];
    assert_eq!(fields["event_id"], click.event_id.as_str());
    assert!(
        fields.get("duration").is_none(),
        "duration left at its default: {fields}"
    );
    let reserialized = hex_decode(out[0]["reserialized"].as_str().unwrap());
    let back = decode_v1(&reserialized).unwrap();
    assert_eq!(
        back.duration_ms, click.duration_ms,
        "the unknown varint survived"
    );
}

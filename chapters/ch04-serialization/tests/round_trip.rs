//! Typed events through the real broker: key, value and headers.

use std::collections::BTreeMap;
use std::time::Duration;

use ch04_serialization::Click;
use ch04_serialization::lab::samples::{key_text, sample_click, send_raw};
use ch04_serialization::lesson::avro::{self, AvroWriter, split_single_object};
use ch04_serialization::lesson::decoder::{ClickDecoder, DecodeError, Decoded, Format};
use ch04_serialization::lesson::headers::{self as envelope, Envelope, EnvelopeError};
use ch04_serialization::lesson::kafka::{
    Outgoing, Stop, consume, producer_config, send_all, subscribe,
};
use rdkafka::message::{Headers, Message, OwnedHeaders};
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use tutorial_lab::{TestTopic, test_cluster, unique_name};

/// What a test consumer saw for one record.
#[derive(Debug)]
struct Seen {
    partition: i32,
    key: String,
    headers: BTreeMap<String, String>,
    value: Vec<u8>,
    decoded: Result<(Envelope, Decoded), String>,
}

async fn read_back(topic: &str, format: Format, count: usize) -> Vec<Seen> {
    let cluster = test_cluster();
    let consumer = subscribe(cluster.bootstrap_servers(), topic, &unique_name("ch04-t")).unwrap();
    let decoder = ClickDecoder::new(format, 1).unwrap();
    let mut seen = Vec::new();
    consume(
        &consumer,
        Stop::After(count),
        Duration::from_secs(30),
        &CancellationToken::new(),
        |m| {
            let headers = m
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_string(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            seen.push(Seen {
                partition: m.partition(),
                key: key_text(m),
                headers,
                value: m.payload().unwrap_or_default().to_vec(),
                decoded: decoder.decode(m).map_err(|e| e.to_string()),
            });
        },
    )
    .await
    .unwrap();
    seen
}

fn check_typed_round_trip(seen: &[Seen], clicks: &[Click], content_type: &str) {
    assert_eq!(seen.len(), clicks.len());
    let mut partition_of_user: BTreeMap<&str, i32> = BTreeMap::new();
    for s in seen {
        let (envelope, decoded) = s.decoded.as_ref().expect("decodes");
        let Decoded::V1(click) = decoded else {
            panic!("a v1 decoder returns v1")
        };
        assert!(
            clicks.contains(click),
            "{click:?} is one of the produced events, field for field"
        );
        assert_eq!(s.key, click.user_id, "key = user id");
        assert_eq!(envelope, &Envelope::new(content_type, 1));
        assert_eq!(s.headers["content-type"], content_type);
        assert_eq!(s.headers["schema"], envelope::CLICK_SCHEMA);
        assert_eq!(s.headers["schema-version"], "1");
        // Same key, same partition: one user's events stay in order.
        let p = *partition_of_user
            .entry(&clicks.iter().find(|c| c == &click).unwrap().user_id)
            .or_insert(s.partition);
        assert_eq!(
            p, s.partition,
            "all events of {} in one partition",
            click.user_id
        );
    }
}

#[tokio::test]
async fn protobuf_events_round_trip_through_kafka_with_user_key_and_format_headers() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-rt-pb", 3, 1).await;
    // 120 events over 50 users: several events per user.
    let clicks: Vec<Click> = (0..120).map(sample_click).collect();
    let records: Vec<Outgoing> = clicks.iter().map(Outgoing::protobuf_v1).collect();
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers())
        .create()
        .unwrap();
    send_all(&producer, &topic.name, &records).await.unwrap();
    let seen = read_back(&topic.name, Format::Protobuf, clicks.len()).await;
    check_typed_round_trip(&seen, &clicks, envelope::PROTOBUF);
}

#[tokio::test]
async fn avro_events_round_trip_through_kafka_as_single_object_encoding() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-rt-avro", 3, 1).await;
    let clicks: Vec<Click> = (0..120).map(sample_click).collect();
    let writer = AvroWriter::new(&avro::V1).unwrap();
    let records: Vec<Outgoing> = clicks
        .iter()
        .map(|c| Outgoing::avro(&writer, 1, &c.user_id, c).unwrap())
        .collect();
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers())
        .create()
        .unwrap();
    send_all(&producer, &topic.name, &records).await.unwrap();
    let seen = read_back(&topic.name, Format::Avro, clicks.len()).await;
    check_typed_round_trip(&seen, &clicks, envelope::AVRO);
    for s in &seen {
        // split_single_object checks the C3 01 marker.
        let (fingerprint, _) = split_single_object(&s.value).expect("C3 01 + fingerprint");
        assert_eq!(
            fingerprint,
            avro::fingerprint(&avro::V1),
            "writer schema fingerprint in every value"
        );
    }
}

#[tokio::test]
async fn records_whose_headers_do_not_match_are_refused_before_decoding() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-refuse", 1, 1).await;
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers())
        .create()
        .unwrap();
    let click = sample_click(0);
    let json = serde_json::to_vec(&click).unwrap();
    let protobuf = Outgoing::protobuf_v1(&click).value;
    let mut other_schema = Envelope::new(envelope::PROTOBUF, 1);
    other_schema.schema = "tutorial.orders.Order".into();
    let bad_version = OwnedHeaders::new()
        .insert(rdkafka::message::Header {
            key: "content-type",
            value: Some(envelope::PROTOBUF),
        })
        .insert(rdkafka::message::Header {
            key: "schema",
            value: Some(envelope::CLICK_SCHEMA),
        })
        .insert(rdkafka::message::Header {
            key: "schema-version",
            value: Some("two"),
        });
    for (value, headers) in [
        (&json, Envelope::new(envelope::JSON, 1).to_headers()),
        (&protobuf, OwnedHeaders::new()),
        (&protobuf, other_schema.to_headers()),
        (&protobuf, bad_version),
    ] {
        send_raw(&producer, &topic.name, &click.user_id, value, headers)
            .await
            .unwrap();
    }
    let seen = read_back(&topic.name, Format::Protobuf, 4).await;
    let errors: Vec<String> = seen
        .iter()
        .map(|s| s.decoded.as_ref().unwrap_err().clone())
        .collect();
    assert_eq!(
        errors,
        vec![
            EnvelopeError::WrongContentType {
                found: envelope::JSON.into(),
                expected: envelope::PROTOBUF.into()
            }
            .to_string(),
            EnvelopeError::Missing("content-type").to_string(),
            EnvelopeError::WrongSchema {
                found: "tutorial.orders.Order".into(),
                expected: envelope::CLICK_SCHEMA.into()
            }
            .to_string(),
            EnvelopeError::BadVersion("two".into()).to_string(),
        ]
    );
}

/// Why the headers matter: protobuf bytes carry no type. A `Page` message
/// decodes as a `ClickEvent` without any error (fields 1 and 2 are strings
/// in both) — nonsense, silently.
#[test]
fn protobuf_bytes_carry_no_type_so_a_page_decodes_as_a_click_event_without_error() {
    use prost::Message as _;
    let page = ch04_serialization::lesson::protobuf::pb::v1::Page {
        url: "https://shop.example.com/".into(),
        title: "Home".into(),
    };
    let decoder = ClickDecoder::new(Format::Protobuf, 1).unwrap();
    let Decoded::V1(click) = decoder.decode_value(&page.encode_to_vec()).unwrap() else {
        unreachable!()
    };
    assert_eq!(click.event_id, "https://shop.example.com/");
    assert_eq!(click.user_id, "Home");
}

/// Avro refuses what it cannot place: an unknown writer fingerprint is
/// named in the error instead of being read with a guessed schema.
#[test]
fn an_avro_record_from_an_unknown_writer_schema_is_refused_naming_its_fingerprint() {
    let mut bytes = AvroWriter::new(&avro::V1)
        .unwrap()
        .encode(&sample_click(1))
        .unwrap();
    // Overwrite the fingerprint after the C3 01 marker.
    for (slot, byte) in bytes.iter_mut().skip(2).zip([1, 2, 3, 4, 5, 6, 7, 8]) {
        *slot = byte;
    }
    let error = ClickDecoder::new(Format::Avro, 1)
        .unwrap()
        .decode_value(&bytes)
        .unwrap_err();
    assert!(matches!(
        error,
        DecodeError::Avro(avro::AvroError::UnknownWriterSchema { .. })
    ));
    assert!(
        error.to_string().contains("fingerprint 0102030405060708"),
        "{error}"
    );
}

/// build.rs compiled the .proto files with protox (no protoc): the
/// descriptor set it produced holds our three files and the well-known
/// timestamp.proto that protox ships.
#[test]
fn the_build_compiled_the_protos_and_timestamp_proto_into_one_descriptor_set() {
    use prost::Message as _;
    let set = prost_types::FileDescriptorSet::decode(
        ch04_serialization::lesson::protobuf::FILE_DESCRIPTOR_SET,
    )
    .unwrap();
    let mut names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "click_broken.proto",
            "click_v1.proto",
            "click_v2.proto",
            "google/protobuf/timestamp.proto"
        ]
    );
    // Dependencies come before the files that import them (Python adds them in order).
    let position = |name: &str| set.file.iter().position(|f| f.name() == name).unwrap();
    assert!(position("google/protobuf/timestamp.proto") < position("click_v1.proto"));
}

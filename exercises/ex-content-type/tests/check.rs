//! Decides `ex-content-type` on the real broker: four records with the
//! same Protobuf bytes and different headers.

use std::time::Duration;

use ch04_serialization::lesson::headers::{CONTENT_TYPE, JSON, PROTOBUF};
use ch04_serialization::lesson::protobuf::encode_v2;
use ch04_serialization::pb::v2::ClickEvent;
use ex_content_type::decode_click;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name};

fn with(types: &[&str]) -> Option<OwnedHeaders> {
    if types.is_empty() {
        return None;
    }
    Some(types.iter().fold(OwnedHeaders::new(), |h, t| {
        h.insert(Header {
            key: CONTENT_TYPE,
            value: Some(*t),
        })
    }))
}

#[tokio::test]
async fn only_records_marked_as_protobuf_are_decoded() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ex-content-type", 1, 1).await;
    let event = ClickEvent {
        event_id: "e-1".into(),
        user_id: "u-1".into(),
        session_id: "s-1".into(),
        duration_ms: 42,
        ..ClickEvent::default()
    };
    let bytes = encode_v2(&event);
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let cases: [&[&str]; 4] = [&[PROTOBUF], &[], &[JSON], &[JSON, PROTOBUF]];
    for types in cases {
        let mut record = FutureRecord::<(), _>::to(&topic.name).payload(&bytes);
        if let Some(headers) = with(types) {
            record = record.headers(headers);
        }
        producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap_or_else(|(e, _)| panic!("{e}"));
    }

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", unique_name("ex-content-type"))
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic.name, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("a record within 30 s")
            .unwrap();
        outcomes.push(decode_click(&message));
    }
    assert_eq!(
        outcomes[0].as_ref().map(|e| e.session_id.as_str()),
        Ok("s-1"),
        "marked as Protobuf"
    );
    let missing = outcomes[1]
        .as_ref()
        .expect_err("no header: must be refused");
    assert!(
        missing.contains("content-type"),
        "say which header is missing: {missing}"
    );
    let json = outcomes[2]
        .as_ref()
        .expect_err("application/json: must be refused");
    assert!(
        json.contains("application/json"),
        "say what was found: {json}"
    );
    assert_eq!(
        outcomes[3].as_ref().map(|e| e.event_id.as_str()),
        Ok("e-1"),
        "repeated header: the last one (Protobuf) wins"
    );
}

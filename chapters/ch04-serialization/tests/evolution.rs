//! Schema evolution: compatible changes through the broker, incompatible
//! ones with what really happens.

use apache_avro::schema_compatibility::SchemaCompatibility;
use ch04_serialization::lab::evolution::{self, Cell};
use ch04_serialization::lab::samples::{sample_click, sample_click_v2};
use ch04_serialization::lesson::avro::{self, AvroWriter, split_single_object};
use ch04_serialization::lesson::decoder::{Decoded, Format};
use ch04_serialization::lesson::protobuf;
use ch04_serialization::{Click, ClickV2};
use tutorial_lab::{TestTopic, test_cluster};

fn cell(cells: &[Cell], writer: u32, reader: u32) -> &Decoded {
    let cell = cells
        .iter()
        .find(|c| c.writer == writer && c.reader == reader)
        .unwrap_or_else(|| panic!("no cell writer v{writer} reader v{reader}: {cells:#?}"));
    cell.result
        .as_ref()
        .unwrap_or_else(|e| panic!("writer v{writer} reader v{reader}: {e}"))
}

fn check_matrix(cells: &[Cell]) {
    assert_eq!(cells.len(), 4);
    let (v1, v2) = (sample_click(0), sample_click_v2(0));
    assert!(v1.referrer.is_some(), "event 0 has a referrer");
    assert_eq!(cell(cells, 1, 1), &Decoded::V1(v1.clone()));
    // Old reader, new record: the removed field reads as its default (None),
    // the added one is skipped, everything else intact.
    assert_eq!(
        cell(cells, 2, 1),
        &Decoded::V1(Click {
            referrer: None,
            ..v1
        })
    );
    // New reader, old record: the added field reads as its default ("").
    assert_eq!(
        cell(cells, 1, 2),
        &Decoded::V2(ClickV2 {
            session_id: String::new(),
            ..v2.clone()
        })
    );
    assert_eq!(cell(cells, 2, 2), &Decoded::V2(v2));
}

#[tokio::test]
async fn protobuf_old_and_new_readers_read_each_others_records_through_kafka() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-evo-pb", 1, 1).await;
    check_matrix(
        &evolution::matrix(cluster.bootstrap_servers(), &topic.name, Format::Protobuf)
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn avro_old_and_new_readers_read_each_others_records_through_kafka() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-evo-avro", 1, 1).await;
    check_matrix(
        &evolution::matrix(cluster.bootstrap_servers(), &topic.name, Format::Avro)
            .await
            .unwrap(),
    );
}

#[test]
fn protobuf_reusing_a_field_number_with_the_same_wire_type_misreads_silently() {
    for i in 0..10 {
        let click = sample_click(i);
        let bytes = protobuf::encode_v1(&(&click).into());
        let broken = evolution::protobuf_reused_number(&bytes).expect("no error at all");
        // The old referrer URL is now the "campaign".
        assert_eq!(broken.campaign, click.referrer.unwrap_or_default());
    }
}

#[test]
fn protobuf_changing_a_field_type_makes_prost_refuse_the_record() {
    let bytes = protobuf::encode_v1(&(&sample_click(0)).into());
    let error = evolution::protobuf_changed_type(&bytes).unwrap_err();
    assert_eq!(
        error.to_string(),
        "failed to decode Protobuf message: ClickEventChangedType.duration: \
         invalid wire type: Varint (expected LengthDelimited)"
    );
}

fn avro_v1_datum(i: u64) -> Vec<u8> {
    let value = AvroWriter::new(&avro::V1)
        .unwrap()
        .encode(&sample_click(i))
        .unwrap();
    split_single_object(&value).unwrap().1.to_vec()
}

#[test]
fn avro_v1_and_v2_are_compatible_both_ways_by_the_schema_checker() {
    assert!(SchemaCompatibility::mutual_read(&avro::V1, &avro::V2).is_ok());
}

#[test]
fn avro_a_new_field_without_default_cannot_read_old_records() {
    let error = evolution::avro_new_field_without_default(&avro_v1_datum(0)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Avro: Missing field in record: \"session_id\""
    );
    // The compatibility checker sees it before any record is read.
    assert!(SchemaCompatibility::can_read(&avro::V1, &avro::V2_NO_DEFAULT).is_err());
    // New records are still readable by old readers (the field is just skipped).
    assert!(SchemaCompatibility::can_read(&avro::V2_NO_DEFAULT, &avro::V1).is_ok());
}

#[test]
fn avro_changing_long_to_string_cannot_read_old_records() {
    let error = evolution::avro_type_change(&avro_v1_datum(0)).unwrap_err();
    assert!(error.to_string().contains("got: Long(150)"), "{error}");
    assert!(SchemaCompatibility::can_read(&avro::V1, &avro::V2_TYPE_CHANGE).is_err());
}

/// Without the writer schema, Avro bytes are read by walking the reader's
/// own field list: with a referrer set, the v1 record reads as a "v2" with
/// wrong values and no error; without one, the misread happens to fail.
#[test]
fn avro_reading_with_an_assumed_writer_schema_misreads_silently() {
    for i in 0..10 {
        let click = sample_click(i);
        let result = evolution::avro_assumed_writer_schema(&avro_v1_datum(i));
        match &click.referrer {
            Some(referrer) => {
                let wrong = result.expect("no error");
                assert_eq!(
                    wrong.event_id, click.event_id,
                    "fields before the change are right"
                );
                assert_eq!(
                    wrong.duration_ms, 1,
                    "the union branch index read as duration_ms"
                );
                assert_eq!(
                    &wrong.session_id, referrer,
                    "the referrer read as session_id"
                );
            }
            None => assert!(result.is_err(), "event {i}: {result:?}"),
        }
    }
}

//! Decides `ex-avro-evolution` (no broker: Avro resolution happens in the
//! consumer). Records written with v1, v2 and v3 must all decode with the
//! v3 reader schema; the old ones get an empty country.

use ch04_serialization::lesson::avro::{AvroReader, AvroWriter, V1, V2};
use ch04_serialization::{Action, Click, ClickV2, Page};
use ex_avro_evolution::V3;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ClickV3 {
    event_id: String,
    user_id: String,
    occurred_at: i64,
    action: Action,
    page: Page,
    tags: Vec<String>,
    duration_ms: i64,
    session_id: String,
    country: String,
}

fn page() -> Page {
    Page {
        url: "/cart".into(),
        title: "Cart".into(),
    }
}

#[test]
fn v1_v2_and_v3_records_all_decode_with_the_v3_reader() {
    let v1 = Click {
        event_id: "e-1".into(),
        user_id: "u-1".into(),
        occurred_at: 1_700_000_000_000,
        action: Action::View,
        page: page(),
        tags: vec!["a".into()],
        referrer: Some("https://example.com".into()),
        duration_ms: 120,
    };
    let v2 = ClickV2 {
        event_id: "e-2".into(),
        user_id: "u-2".into(),
        occurred_at: 1_700_000_000_001,
        action: Action::Click,
        page: page(),
        tags: vec![],
        duration_ms: 80,
        session_id: "s-2".into(),
    };
    let v3 = ClickV3 {
        event_id: "e-3".into(),
        user_id: "u-3".into(),
        occurred_at: 1_700_000_000_002,
        action: Action::Purchase,
        page: page(),
        tags: vec!["b".into()],
        duration_ms: 50,
        session_id: "s-3".into(),
        country: "NZ".into(),
    };
    let bytes = [
        AvroWriter::new(&V1).unwrap().encode(&v1).unwrap(),
        AvroWriter::new(&V2).unwrap().encode(&v2).unwrap(),
        AvroWriter::new(&V3).unwrap().encode(&v3).unwrap(),
    ];

    let reader = AvroReader::new(&V3, &[&V1, &V2, &V3])
        .unwrap_or_else(|e| panic!("a v3 consumer cannot even be built for v1/v2 writers: {e}"));
    let decoded: Vec<ClickV3> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            reader
                .decode(b)
                .unwrap_or_else(|e| panic!("the v{} record does not decode with v3: {e}", i + 1))
        })
        .collect();
    assert_eq!(decoded[0].event_id, "e-1");
    assert_eq!(decoded[0].country, "", "an old record gets the default");
    assert_eq!(decoded[1].session_id, "s-2");
    assert_eq!(decoded[1].country, "");
    assert_eq!(decoded[2], v3, "a v3 record round-trips");
}

//! What kafka-go's Reader (v0.4.51) and Kafka's Java console consumer
//! return from a topic our transactional producer wrote: 3 committed
//! records, 3 aborted, 2 committed, and the three transaction markers.

use ch04_transactions::lab::peers::{self, COMMITTED, LOG_END};
use tutorial_lab::test_cluster;

#[tokio::test]
async fn kafka_go_returns_aborted_records_and_markers_where_javas_read_committed_consumer_does_not()
{
    let views = peers::compare(&test_cluster()).await.unwrap();

    // Java, read_committed: the committed records, once each, nothing else.
    assert_eq!(views.java_committed, COMMITTED, "{views:?}");

    // kafka-go with IsolationLevel: ReadCommitted: every offset of the log —
    // the aborted records and the three control records (4-byte keys)
    // included (segmentio/kafka-go#1332).
    let go = &views.kafka_go_committed;
    let offsets: Vec<i64> = go.iter().map(|m| m.offset).collect();
    assert_eq!(offsets, (0..LOG_END).collect::<Vec<_>>(), "{views:?}");
    assert!(go.iter().any(|m| m.value == "aborted-0"), "{views:?}");
    let markers: Vec<&str> = [3, 7, 10]
        .iter()
        .map(|&o| go[o as usize].key_hex.as_str())
        .collect();
    // Control record key: version 0 (int16), type 1 = commit / 0 = abort.
    assert_eq!(markers, ["00000001", "00000000", "00000001"], "{views:?}");

    // ReadUncommitted returns the same.
    assert_eq!(views.kafka_go_uncommitted, views.kafka_go_committed);
}

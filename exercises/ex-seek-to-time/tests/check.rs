//! Decides `ex-seek-to-time` on the real broker: ten records one second
//! apart (timestamps set by the producer); "since record 4's time plus half
//! a second" starts at offset 5, "since record 0's time" at 0, and a time
//! after the last record finds nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ex_seek_to_time::first_offset_since;
use rdkafka::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tutorial_lab::testing::{TestTopic, test_cluster};

#[tokio::test]
async fn the_first_record_at_or_after_a_time() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers().to_string();
    let topic = TestTopic::create(&cluster, "ex-seek-time", 1, 1).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let base = now - 60_000;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .create()
        .unwrap();
    for i in 0..10 {
        let payload = format!("record-{i}");
        let record = FutureRecord::<(), _>::to(&topic.name)
            .payload(&payload)
            .timestamp(base + i * 1000);
        producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap_or_else(|(e, _)| panic!("record {i}: {e}"));
    }

    let name = topic.name.clone();
    let answers = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "ex-seek-to-time")
            .create()
            .unwrap();
        [base + 4500, base, base + 20_000].map(|t| {
            first_offset_since(&consumer, &name, 0, t).unwrap_or_else(|e| panic!("at {t}: {e:#}"))
        })
    })
    .await
    .unwrap();
    assert_eq!(answers[0], Some(5), "since 4.5 s after the first record");
    assert_eq!(
        answers[1],
        Some(0),
        "since the first record's own timestamp"
    );
    assert_eq!(answers[2], None, "after the last record there is nothing");
}

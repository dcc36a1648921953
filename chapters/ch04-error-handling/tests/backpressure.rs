//! A slow worker behind a bounded channel: the consumer pauses instead of
//! buffering without limit, and every record is processed once.

use std::sync::Arc;
use std::time::Duration;

use ch04_error_handling::lab::backpressure::consume_with_bounded_work;
use ch04_error_handling::lesson::classify::producer_config;
use ch04_error_handling::lesson::dead_letter::consumer;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tutorial_lab::testing::{TestTopic, committed_offset, test_cluster, unique_name};

#[tokio::test]
async fn a_slow_worker_makes_the_consumer_pause_with_bounded_work_in_flight() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-flow", 1, 1).await;
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers(), 30_000)
        .create()
        .unwrap();
    for i in 0..300 {
        let payload = i.to_string();
        producer
            .send(
                FutureRecord::<(), _>::to(&topic.name).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    let group = unique_name("ch04-flow");
    let consumer = Arc::new(consumer(cluster.bootstrap_servers(), &topic.name, &group).unwrap());
    let report = consume_with_bounded_work(consumer, 300, 16, Duration::from_millis(2))
        .await
        .unwrap();
    println!("{report:?}");
    assert_eq!(report.processed, 300);
    // At most the channel's 16, plus the one the worker holds while it
    // works (counted until it is done), plus the one the consumer has just
    // taken and is about to hand over.
    assert!(
        report.max_in_flight <= 16 + 2,
        "in flight stays bounded: {report:?}"
    );
    assert!(
        report.pauses > 0,
        "a slow worker makes the consumer pause: {report:?}"
    );
    assert_eq!(
        committed_offset(cluster.bootstrap_servers(), &topic.name, &group),
        Some(300),
        "the next offset to read, not one past it"
    );
}

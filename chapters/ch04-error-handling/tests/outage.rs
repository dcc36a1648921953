//! The broker stops and comes back while a producer is writing. This test
//! kills and restarts the local broker (started by `cargo xtask kafka up`),
//! so it lives alone in its test binary, and `cargo xtask test` runs that
//! binary with no other one running (it sees `local_cluster` in the source).

use std::collections::BTreeMap;
use std::time::Duration;

use ch04_error_handling::lab::outage::produce_in_bursts;
use ch04_error_handling::lesson::classify::producer_config;
use rdkafka::producer::FutureProducer;
use tutorial_lab::local_cluster::{Faults, nodes};
use tutorial_lab::testing::{TestTopic, read_all, test_cluster};

#[tokio::test]
async fn an_idempotent_producer_rides_out_a_broker_restart_and_stores_each_acknowledged_record_once()
 {
    let cluster = test_cluster();
    let nodes = nodes().expect("this test restarts the broker started by `cargo xtask kafka up`");
    let topic = TestTopic::create(&cluster, "ch04-outage", 1, 1).await;
    let mut config = producer_config(cluster.bootstrap_servers(), 60_000);
    config.set("acks", "all");
    let producer: FutureProducer = config.create().unwrap();

    // The broker that leads partition 0 (on one node: the only one).
    let leader = nodes[0].clone();
    let topic_name = topic.name.clone();
    let sending =
        tokio::spawn(async move { produce_in_bursts(&producer, &topic_name, 3000).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut faults = Faults::new();
    faults.kill(&leader).unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    faults.restart(leader.id).unwrap();
    let report = tokio::time::timeout(Duration::from_secs(90), sending)
        .await
        .expect("the producer finished within 90 s")
        .unwrap()
        .unwrap();
    drop(faults);
    let acknowledged = &report.acknowledged;

    println!(
        "acknowledged {} of 3000 across the restart; not stored: {:?}",
        acknowledged.len(),
        report.failed
    );
    assert_eq!(
        acknowledged.len() + report.failed.len(),
        3000,
        "every record is accounted for: acknowledged or failed with its error"
    );
    assert!(!acknowledged.is_empty());
    // Wait for the restarted broker, then read everything back.
    let cluster = test_cluster();
    let high = high_watermark(cluster.bootstrap_servers(), &topic.name).await;
    assert!(
        high >= acknowledged.len() as i64,
        "{high} stored < {} acknowledged",
        acknowledged.len()
    );
    let stored = read_all(
        &cluster,
        &topic.name,
        high as usize,
        Duration::from_secs(60),
    )
    .await;
    let mut copies: BTreeMap<u32, usize> = BTreeMap::new();
    for record in &stored {
        *copies.entry(record.payload.parse().unwrap()).or_default() += 1;
    }
    for seq in acknowledged {
        assert_eq!(
            copies.get(seq),
            Some(&1),
            "acknowledged record {seq} stored exactly once"
        );
    }
    assert!(copies.values().all(|c| *c == 1), "no duplicates at all");
}

/// The partition's high watermark, once the restarted broker answers.
async fn high_watermark(bootstrap: &str, topic: &str) -> i64 {
    use rdkafka::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match client.fetch_watermarks(topic, 0, Duration::from_secs(5)) {
            Ok((_, high)) => return high,
            Err(error) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no watermarks after the restart: {error}"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
}

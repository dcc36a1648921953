//! Decides `ex-partitioner` on the real broker: 60 keys to a 6-partition
//! topic; each must land on `murmur2(key) % 6` — the Java client's choice,
//! computed by 二.3's reference implementation (checked there against the
//! Java client's own test vectors).

use std::time::Duration;

use ch02_balancers::lab::reference::murmur2_partition;
use ex_partitioner::producer_config;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tutorial_lab::testing::{TestTopic, test_cluster};

#[tokio::test]
async fn every_key_lands_where_the_java_client_puts_it() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ex-partitioner", 6, 1).await;
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers())
        .create()
        .unwrap();
    let mut wrong = Vec::new();
    for i in 0..60 {
        let key = format!("user-{i}");
        let record = FutureRecord::to(&topic.name).key(&key).payload("click");
        let delivery = producer
            .send(record, Duration::from_secs(30))
            .await
            .unwrap_or_else(|(e, _)| panic!("{key} not delivered: {e}"));
        let java = murmur2_partition(key.as_bytes(), 6);
        if delivery.partition != java {
            wrong.push(format!("{key}: {} (Java: {java})", delivery.partition));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of 60 keys landed elsewhere than with the Java client, e.g. {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(5)]
    );
}

//! Decides `ex-consumer-lag` on the real broker, against Kafka's own
//! `kafka-consumer-groups --describe`'s definition (end of log = high
//! watermark). Partition 0: 50 records, the group committed 20 → lag 30.
//! Partition 1: 10 records, then 30 more in a transaction that is still
//! open; the group committed 5 → lag 35 (the open transaction's records
//! count: they are written). Partition 2: never committed → unknown.

use std::time::Duration;

use ex_consumer_lag::{lag, monitor_config};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name};

fn plain(bootstrap: &str, topic: &str, partition: i32, n: usize) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .unwrap();
    for i in 0..n {
        let payload = i.to_string();
        producer
            .send(
                BaseRecord::<(), _>::to(topic)
                    .partition(partition)
                    .payload(&payload),
            )
            .unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();
}

#[tokio::test]
async fn lag_counts_every_written_record_like_kafkas_tool() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers().to_string();
    let topic = TestTopic::create(&cluster, "ex-lag", 3, 1).await;
    let group = unique_name("ex-lag");
    let (b, t, g) = (bootstrap.clone(), topic.name.clone(), group.clone());
    let lags = tokio::task::spawn_blocking(move || {
        plain(&b, &t, 0, 50);
        plain(&b, &t, 1, 10);
        // 30 records in a transaction left open while we measure.
        let open: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("transactional.id", unique_name("ex-lag-open"))
            .set("transaction.timeout.ms", "60000")
            .create()
            .unwrap();
        open.init_transactions(Duration::from_secs(30)).unwrap();
        open.begin_transaction().unwrap();
        for i in 0..30 {
            let payload = format!("pending-{i}");
            open.send(BaseRecord::<(), _>::to(&t).partition(1).payload(&payload))
                .unwrap();
        }
        open.flush(Duration::from_secs(30)).unwrap();

        // The group's progress: 20 on partition 0, 5 on partition 1.
        let member: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", &g)
            .create()
            .unwrap();
        let mut progress = TopicPartitionList::new();
        progress
            .add_partition_offset(&t, 0, Offset::Offset(20))
            .unwrap();
        progress
            .add_partition_offset(&t, 1, Offset::Offset(5))
            .unwrap();
        member.commit(&progress, CommitMode::Sync).unwrap();
        drop(member);

        let monitor: BaseConsumer = monitor_config(&b, &g).create().unwrap();
        let lags = lag(&monitor, &t, &[0, 1, 2]).unwrap_or_else(|e| panic!("lag: {e:#}"));
        open.abort_transaction(Duration::from_secs(30)).unwrap();
        lags
    })
    .await
    .unwrap();

    assert_eq!(
        lags.get(&0),
        Some(&Some(30)),
        "partition 0: 50 written, 20 committed"
    );
    assert_eq!(
        lags.get(&2),
        Some(&None),
        "partition 2: the group never committed there"
    );
    match lags.get(&1) {
        Some(Some(35)) => {}
        Some(Some(5)) => panic!(
            "partition 1: lag 5, where Kafka's tool (which measures to the high watermark, 四.5) says 35 — you measured to the last stable offset \
             (10, held back by the open transaction), not to the high watermark (40)"
        ),
        other => panic!("partition 1: {other:?}, expected Some(35)"),
    }
}

//! Chapter 一's claims, each proven on a real Apache Kafka broker
//! (`KAFKA_BROKERS`, default localhost:9092). No broker → these tests fail
//! with instructions; they never skip.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ch01_architecture::lab::{Group, check_order, first_offsets, produce_events};
use ch01_architecture::lesson::{
    Received, Sent, TopicOutcome, create_topic, describe_partitions, produce_keyed, read_back,
};
use tutorial_lab::testing::{crc32, test_cluster, unique_name};
use tutorial_support::Cluster;
use tutorial_support::topics::delete_topic;

const KEYS: [&str; 6] = ["alice", "bob", "erin", "grace", "mallory", "sybil"];
const SETTLE: Duration = Duration::from_secs(30);

async fn fresh_topic(cluster: &Cluster, partitions: i32) -> String {
    let topic = unique_name("ch01-test");
    let outcome = create_topic(cluster.bootstrap_servers(), &topic, partitions, 1)
        .await
        .expect("create topic");
    assert_eq!(outcome, TopicOutcome::Created);
    topic
}

/// Sends the interleaved keyed records and reads back exactly those.
async fn round_trip(cluster: &Cluster, topic: &str) -> (Vec<Sent>, Vec<Received>) {
    let bootstrap = cluster.bootstrap_servers();
    let sent = produce_keyed(bootstrap, topic, &KEYS, 5)
        .await
        .expect("produce");
    let start = first_offsets(&sent);
    let received = read_back(bootstrap, topic, &start, sent.len())
        .await
        .expect("read back");
    (sent, received)
}

/// The defaults this chapter's page names, read from librdkafka itself.
#[test]
fn librdkafka_defaults_named_in_this_chapter() {
    use rdkafka::ClientConfig;
    use tutorial_support::settings::effective;
    let defaults = effective(
        &ClientConfig::new(),
        &[
            "partitioner",
            "acks",
            "enable.idempotence",
            "auto.offset.reset",
            "enable.auto.commit",
            "partition.assignment.strategy",
            "group.protocol",
        ],
    )
    .unwrap();
    let values: Vec<(&str, &str)> = defaults
        .iter()
        .map(|s| (s.key.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        values,
        vec![
            ("partitioner", "consistent_random"),
            ("acks", "-1"),
            ("enable.idempotence", "false"),
            ("auto.offset.reset", "largest"),
            ("enable.auto.commit", "true"),
            ("partition.assignment.strategy", "range,roundrobin"),
            ("group.protocol", "classic"),
        ]
    );
}

/// librdkafka's high-level consumer wants a group.id even for `assign`,
/// which never joins a group: without one, assign reports "Unknown group".
/// This is why the lesson's `read_back` sets a group.id it never uses.
#[tokio::test]
async fn assign_without_a_group_id_fails_with_unknown_group() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 1).await;
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(&topic, 0, Offset::Beginning)
        .unwrap();
    let error = consumer.assign(&assignment).expect_err("no group.id");
    assert!(error.to_string().contains("Unknown group"), "{error}");
    delete_topic(&cluster, &topic).await.unwrap();
}

#[tokio::test]
async fn a_new_topic_has_the_requested_partitions_each_with_a_leader_and_in_sync_replicas() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 3).await;
    let broker_ids: BTreeSet<i32> = cluster.brokers().iter().map(|b| b.id).collect();
    let partitions = describe_partitions(cluster.bootstrap_servers(), &topic).unwrap();
    assert_eq!(
        partitions.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    for p in &partitions {
        assert!(
            broker_ids.contains(&p.leader),
            "leader {} is not a broker",
            p.leader
        );
        assert_eq!(
            p.replicas.len(),
            1,
            "replication factor 1 means one replica"
        );
        assert_eq!(p.isr, p.replicas, "a single replica is trivially in sync");
        assert_eq!(
            (p.low_watermark, p.high_watermark),
            (0, 0),
            "a new partition is empty"
        );
    }
    delete_topic(&cluster, &topic).await.unwrap();
}

#[tokio::test]
async fn creating_an_existing_topic_reports_already_exists_instead_of_failing() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 1).await;
    let again = create_topic(cluster.bootstrap_servers(), &topic, 1, 1)
        .await
        .unwrap();
    assert_eq!(again, TopicOutcome::AlreadyExisted);
    delete_topic(&cluster, &topic).await.unwrap();
}

#[tokio::test]
async fn a_replication_factor_above_the_broker_count_is_a_clear_error() {
    let cluster = test_cluster();
    let brokers = cluster.brokers().len() as i32;
    let error = create_topic(
        cluster.bootstrap_servers(),
        &unique_name("ch01-rf"),
        1,
        brokers + 1,
    )
    .await
    .expect_err("more replicas than brokers must fail");
    let text = format!("{error:#}");
    assert!(
        text.contains(&format!("replication factor {}", brokers + 1))
            && text.contains(&format!("has {brokers} broker")),
        "message should name both numbers: {text}"
    );
}

#[tokio::test]
async fn records_with_the_same_key_share_one_partition_and_keep_their_order() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 3).await;
    let (sent, received) = round_trip(&cluster, &topic).await;
    let report = check_order(&sent, &received).unwrap();
    assert!(
        report.per_key_order_kept,
        "per-key order broken: {received:?}"
    );
    for s in &sent {
        assert_eq!(
            report.partition_of_key[&s.key], s.partition,
            "key {} moved",
            s.key
        );
    }
    let used: BTreeSet<i32> = report.partition_of_key.values().copied().collect();
    assert!(
        used.len() > 1,
        "the keys should spread over several partitions: {used:?}"
    );
    delete_topic(&cluster, &topic).await.unwrap();
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[tokio::test]
async fn the_default_partitioner_puts_a_key_in_partition_crc32_of_key_mod_partition_count() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 3).await;
    let (sent, _) = round_trip(&cluster, &topic).await;
    for s in &sent {
        let expected = (crc32(s.key.as_bytes()) % 3) as i32;
        assert_eq!(
            s.partition, expected,
            "key {} should be in partition {expected}",
            s.key
        );
    }
    delete_topic(&cluster, &topic).await.unwrap();
}

#[tokio::test]
async fn offsets_are_counted_per_partition_not_across_the_topic() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 3).await;
    let (_, received) = round_trip(&cluster, &topic).await;
    let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for r in &received {
        by_partition.entry(r.partition).or_default().push(r.offset);
    }
    assert!(by_partition.len() > 1);
    for (partition, offsets) in &by_partition {
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(
            offsets, &expected,
            "partition {partition} counts from 0 on its own"
        );
    }
    let after = describe_partitions(cluster.bootstrap_servers(), &topic).unwrap();
    for p in after {
        let stored = by_partition.get(&p.id).map_or(0, Vec::len) as i64;
        assert_eq!(
            p.high_watermark, stored,
            "high watermark = records in partition {}",
            p.id
        );
    }
    delete_topic(&cluster, &topic).await.unwrap();
}

#[tokio::test]
async fn a_consumer_of_several_partitions_does_not_see_the_global_send_order() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 3).await;
    let (sent, received) = round_trip(&cluster, &topic).await;
    let report = check_order(&sent, &received).unwrap();
    assert!(report.per_key_order_kept);
    assert!(
        !report.global_order_kept,
        "records of different partitions came back in send order; Kafka does not promise that"
    );
    delete_topic(&cluster, &topic).await.unwrap();
}

#[tokio::test]
async fn members_of_one_group_split_the_partitions_and_each_record_is_consumed_once() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 3).await;
    let bootstrap = cluster.bootstrap_servers();
    let group = Group::join(bootstrap, &topic, &unique_name("ch01-g"), 2).unwrap();
    let shares = group.wait_for_assignment(3, SETTLE).await.unwrap();
    assert!(
        shares.iter().all(|s| !s.is_empty()),
        "both members get work: {shares:?}"
    );
    produce_events(bootstrap, &topic, 30).await.unwrap();
    let received = group.consume(30, SETTLE).await.unwrap();
    let mut all = BTreeSet::new();
    for (share, records) in shares.iter().zip(&received) {
        for (partition, offset) in records {
            assert!(
                share.contains(partition),
                "a member only reads its own partitions"
            );
            assert!(
                all.insert((*partition, *offset)),
                "record {partition}/{offset} consumed twice"
            );
        }
    }
    assert_eq!(all.len(), 30);
    group.leave().await.unwrap();
    delete_topic(&cluster, &topic).await.unwrap();
}

#[tokio::test]
async fn a_member_beyond_the_partition_count_gets_no_partition_and_no_records() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 3).await;
    let bootstrap = cluster.bootstrap_servers();
    let group = Group::join(bootstrap, &topic, &unique_name("ch01-g"), 4).unwrap();
    let shares = group.wait_for_assignment(3, SETTLE).await.unwrap();
    let idle: Vec<usize> = (0..4).filter(|&i| shares[i].is_empty()).collect();
    assert_eq!(
        idle.len(),
        1,
        "exactly one of four members is idle: {shares:?}"
    );
    produce_events(bootstrap, &topic, 30).await.unwrap();
    let received = group.consume(30, SETTLE).await.unwrap();
    assert_eq!(
        received[idle[0]].len(),
        0,
        "the idle member receives nothing"
    );
    assert!(
        shares
            .iter()
            .zip(&received)
            .filter(|(s, _)| !s.is_empty())
            .all(|(_, r)| !r.is_empty()),
        "every member with a partition receives records"
    );
    group.leave().await.unwrap();
    delete_topic(&cluster, &topic).await.unwrap();
}

#[tokio::test]
async fn every_group_receives_every_record() {
    let cluster = test_cluster();
    let topic = fresh_topic(&cluster, 3).await;
    let bootstrap = cluster.bootstrap_servers();
    let first = Group::join(bootstrap, &topic, &unique_name("ch01-g1"), 2).unwrap();
    let second = Group::join(bootstrap, &topic, &unique_name("ch01-g2"), 1).unwrap();
    first.wait_for_assignment(3, SETTLE).await.unwrap();
    second.wait_for_assignment(3, SETTLE).await.unwrap();
    produce_events(bootstrap, &topic, 30).await.unwrap();
    let set = |received: Vec<Vec<(i32, i64)>>| -> BTreeSet<(i32, i64)> {
        received.into_iter().flatten().collect()
    };
    let a = set(first.consume(30, SETTLE).await.unwrap());
    let b = set(second.consume(30, SETTLE).await.unwrap());
    assert_eq!(a.len(), 30);
    assert_eq!(a, b, "both groups receive the same 30 records");
    first.leave().await.unwrap();
    second.leave().await.unwrap();
    delete_topic(&cluster, &topic).await.unwrap();
}

/// With no broker answering, librdkafka keeps retrying in the background.
/// The consumer's `recv` returns transient errors (BrokerTransportFailure,
/// AllBrokersDown) again and again, never a record and never a fatal error;
/// a send is still unresolved long after — it ends only at
/// `message.timeout.ms` (300000 ms by default).
#[tokio::test]
async fn without_a_broker_librdkafka_keeps_retrying_instead_of_failing() {
    use rdkafka::ClientConfig;
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::producer::{FutureProducer, FutureRecord};
    use tutorial_support::settings::effective;
    // Port 1: nothing listens there, every connection is refused at once.
    let nowhere = "localhost:1";
    let wait = Duration::from_secs(8);
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", nowhere)
        .set("group.id", unique_name("g"))
        .create()
        .unwrap();
    consumer.subscribe(&["ch01-nowhere"]).unwrap();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", nowhere)
        .create()
        .unwrap();
    let timeout = effective(&ClientConfig::new(), &["message.timeout.ms"]).unwrap();
    assert_eq!(timeout[0].value, "300000");

    let reading = async {
        let deadline = tokio::time::Instant::now() + wait;
        let mut seen = (0, Vec::new());
        while let Ok(result) = tokio::time::timeout_at(deadline, consumer.recv()).await {
            match result {
                Ok(_) => seen.0 += 1,
                Err(error) => seen.1.push(error),
            }
        }
        seen
    };
    let sending = tokio::time::timeout(
        wait,
        producer.send(
            FutureRecord::<(), _>::to("ch01-nowhere").payload("x"),
            Duration::from_secs(0),
        ),
    );
    let ((records, errors), sent) = tokio::join!(reading, sending);
    let down = errors
        .iter()
        .filter(|e| e.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown))
        .count();
    println!(
        "after {wait:?}: consumer got {records} records and {} errors ({down} AllBrokersDown, first: {:?}); \
         the send is {}",
        errors.len(),
        errors.first().map(|e| e.to_string()),
        if sent.is_err() {
            "still waiting"
        } else {
            "resolved"
        }
    );
    assert_eq!(records, 0);
    assert!(down > 0, "the consumer is told all brokers are down");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, KafkaError::MessageConsumption(_))),
        "only transient errors, never a fatal one: {errors:?}"
    );
    assert!(sent.is_err(), "the send is still waiting after {wait:?}");
    tokio::task::spawn_blocking(move || {
        drop(consumer);
        drop(producer);
    })
    .await
    .unwrap();
}

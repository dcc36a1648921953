//! Chapter 二.2's claims, proven on a real Apache Kafka broker, with the
//! Java client and kafka-go as the other side of the comparison.

use std::collections::BTreeMap;

use ch02_balancers::{
    Fixed, PARTITIONERS, RoundRobin, java_placements, kafka_go_hash, placements, send_least_bytes,
    send_round_robin, send_with_partitioner,
};
use tutorial_support::testing::{TestTopic, test_cluster};

const KEYS: [&str; 12] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "sybil",
];

#[tokio::test]
async fn every_hashing_partitioner_always_puts_a_key_in_the_same_partition() {
    let cluster = test_cluster();
    for partitioner in PARTITIONERS {
        let topic = TestTopic::create(&cluster, "ch02-same-key", 3, 1).await;
        let first = placements(cluster.bootstrap_servers(), &topic.name, partitioner, &KEYS)
            .await
            .unwrap();
        let again = placements(cluster.bootstrap_servers(), &topic.name, partitioner, &KEYS)
            .await
            .unwrap();
        assert_eq!(first, again, "{partitioner}: same key, same partition");
    }
}

#[tokio::test]
async fn the_java_client_agrees_with_murmur2_random_but_not_with_librdkafkas_default() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let java_topic = TestTopic::create(&cluster, "ch02-java", 3, 1).await;
    let java = java_placements(bootstrap, &java_topic.name, &KEYS)
        .await
        .unwrap();
    let murmur_topic = TestTopic::create(&cluster, "ch02-murmur", 3, 1).await;
    let murmur = placements(bootstrap, &murmur_topic.name, "murmur2_random", &KEYS)
        .await
        .unwrap();
    let default_topic = TestTopic::create(&cluster, "ch02-crc", 3, 1).await;
    let default = placements(bootstrap, &default_topic.name, "consistent_random", &KEYS)
        .await
        .unwrap();
    assert_eq!(
        java, murmur,
        "murmur2_random puts every key where the Java client does"
    );
    let differ = KEYS.iter().filter(|k| java[**k] != default[**k]).count();
    println!(
        "keys placed differently by Java and librdkafka's default: {differ} of {}",
        KEYS.len()
    );
    assert!(
        differ > 0,
        "the default (CRC32) disagrees with Java for some keys: {java:?} vs {default:?}"
    );
}

#[tokio::test]
async fn fnv1a_random_agrees_with_kafka_gos_hash_balancer() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-fnv", 3, 1).await;
    let ours = placements(
        cluster.bootstrap_servers(),
        &topic.name,
        "fnv1a_random",
        &KEYS,
    )
    .await
    .unwrap();
    let go =
        kafka_go_hash(&KEYS, 3).expect("Go and the module proxy are needed for this comparison");
    assert_eq!(
        ours, go,
        "fnv1a_random puts every key where kafka-go's Hash balancer does"
    );
}

#[tokio::test]
async fn a_threaded_producer_applies_a_custom_partitioner() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-fixed", 3, 1).await;
    let keys: Vec<Option<String>> = (0..50)
        .map(|i| (i % 2 == 0).then(|| format!("k{i}")))
        .collect();
    let delivered =
        send_with_partitioner(cluster.bootstrap_servers(), &topic.name, Fixed(2), &keys).unwrap();
    assert_eq!(delivered.len(), 50);
    assert!(
        delivered.iter().all(|p| *p == 2),
        "keyed and keyless records all in partition 2: {delivered:?}"
    );
}

#[tokio::test]
async fn a_round_robin_partitioner_spreads_keyless_records_over_every_partition() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-rr", 3, 1).await;
    let keys = vec![None; 300];
    let delivered = send_with_partitioner(
        cluster.bootstrap_servers(),
        &topic.name,
        RoundRobin::default(),
        &keys,
    )
    .unwrap();
    let mut counts: BTreeMap<i32, usize> = BTreeMap::new();
    for p in delivered {
        *counts.entry(p).or_default() += 1;
    }
    println!("custom round-robin partitioner: {counts:?}");
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(
        counts.values().all(|c| *c >= 60),
        "roughly even (the callback may run more than once per record): {counts:?}"
    );
}

#[tokio::test]
async fn round_robin_chosen_by_the_application_is_exact_within_one() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-rr-app", 3, 1).await;
    let delivered = send_round_robin(cluster.bootstrap_servers(), &topic.name, 3, 301)
        .await
        .unwrap();
    let mut counts: BTreeMap<i32, usize> = BTreeMap::new();
    for p in delivered {
        *counts.entry(p).or_default() += 1;
    }
    let (min, max) = (
        *counts.values().min().unwrap(),
        *counts.values().max().unwrap(),
    );
    assert!(max - min <= 1, "{counts:?}");
}

#[tokio::test]
async fn least_bytes_keeps_the_partitions_byte_totals_within_one_record() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-lb", 3, 1).await;
    let sizes: Vec<usize> = (0..90).map(|i| 100 + (i * 37) % 900).collect();
    let totals = send_least_bytes(cluster.bootstrap_servers(), &topic.name, 3, &sizes)
        .await
        .unwrap();
    let (min, max) = (*totals.iter().min().unwrap(), *totals.iter().max().unwrap());
    let largest = *sizes.iter().max().unwrap() as u64;
    assert!(
        max - min <= largest,
        "byte totals {totals:?} differ by more than one record"
    );
}

//! Keyed records: every hashing partitioner keeps a key in one partition,
//! computes exactly its published hash, and spreads many keys evenly.
//! Proven on a real Apache Kafka broker (`KAFKA_BROKERS`, default
//! localhost:9092); no broker → the tests fail with instructions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ch02_balancers::lab::{histogram, reference};
use ch02_balancers::{HASHING_PARTITIONERS, placements, producer_config, send_all};
use rdkafka::ClientConfig;
use tutorial_lab::testing::{TestTopic, test_cluster};
use tutorial_support::settings::effective;

/// What a partitioner computes: key bytes and partition count → partition.
type Formula = fn(&[u8], i32) -> i32;

const KEYS: [&str; 12] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "sybil",
];

/// The defaults this chapter's page names, read from librdkafka itself.
#[test]
fn librdkafka_defaults_named_in_this_chapter() {
    let values: Vec<(String, String)> = effective(
        &ClientConfig::new(),
        &["partitioner", "sticky.partitioning.linger.ms", "linger.ms"],
    )
    .unwrap()
    .into_iter()
    .map(|s| (s.key, s.value))
    .collect();
    let expected = [
        ("partitioner", "consistent_random"),
        ("sticky.partitioning.linger.ms", "10"),
        ("linger.ms", "5"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    assert_eq!(values, expected);
}

#[tokio::test]
async fn each_hashing_partitioner_always_puts_a_key_in_the_same_partition() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-same-key", 3, 1).await;
    // Four rounds of the twelve keys, interleaved, from two producers each.
    let rounds: Vec<Option<&str>> = KEYS
        .iter()
        .cycle()
        .take(KEYS.len() * 2)
        .map(|k| Some(*k))
        .collect();
    for partitioner in HASHING_PARTITIONERS {
        let config = producer_config(cluster.bootstrap_servers(), partitioner);
        let mut seen: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
        for _producer in 0..2 {
            let placed = send_all(&config, &topic.name, &rounds, Duration::ZERO)
                .await
                .unwrap();
            for (key, partition) in rounds.iter().zip(placed) {
                seen.entry(key.unwrap()).or_default().insert(partition);
            }
        }
        for (key, partitions) in &seen {
            assert_eq!(
                partitions.len(),
                1,
                "{partitioner}: key {key} went to {partitions:?}"
            );
        }
        let used: BTreeSet<i32> = seen.values().flatten().copied().collect();
        println!("{partitioner}: 12 keys × 4 records, partitions used {used:?}");
        assert!(
            used.len() > 1,
            "{partitioner}: keys should spread over partitions: {seen:?}"
        );
    }
}

#[tokio::test]
async fn each_hashing_partitioner_is_its_hash_of_the_key_modulo_the_partition_count() {
    let cluster = test_cluster();
    let mut on: BTreeMap<i32, BTreeMap<String, i32>> = BTreeMap::new();
    for partitions in [3, 7] {
        let topic = TestTopic::create(&cluster, "ch02-formula", partitions, 1).await;
        let formulas: [(&str, Formula); 3] = [
            ("consistent_random", reference::crc32_partition),
            ("murmur2_random", reference::murmur2_partition),
            ("fnv1a_random", reference::fnv1a_partition),
        ];
        for (partitioner, formula) in formulas {
            let placed = placements(cluster.bootstrap_servers(), &topic.name, partitioner, &KEYS)
                .await
                .unwrap();
            for key in KEYS {
                assert_eq!(
                    placed[key],
                    formula(key.as_bytes(), partitions),
                    "{partitioner}, {partitions} partitions, key {key}"
                );
            }
            if partitioner == "consistent_random" {
                on.insert(partitions, placed);
            }
        }
    }
    // The same rule on another partition count moves keys: hash mod 3 ≠ hash mod 7.
    let moved: Vec<&str> = KEYS
        .into_iter()
        .filter(|k| on[&3][*k] != on[&7][*k])
        .collect();
    println!(
        "consistent_random, 3 → 7 partitions: {} of {} keys move: {moved:?}",
        moved.len(),
        KEYS.len()
    );
    assert!(!moved.is_empty());
}

#[tokio::test]
async fn many_distinct_keys_spread_evenly_under_every_hashing_partitioner() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-spread", 3, 1).await;
    let keys: Vec<String> = (0..900).map(|i| format!("user-{i}")).collect();
    let keys: Vec<Option<&str>> = keys.iter().map(|k| Some(k.as_str())).collect();
    for partitioner in HASHING_PARTITIONERS {
        let config = producer_config(cluster.bootstrap_servers(), partitioner);
        let placed = send_all(&config, &topic.name, &keys, Duration::ZERO)
            .await
            .unwrap();
        let counts = histogram(&placed, 3);
        println!("{partitioner}: 900 keys user-0..user-899 → {counts:?}");
        // Hashes are deterministic, so this is a fact about these keys, not luck.
        assert!(
            counts.iter().all(|c| (240..=360).contains(c)),
            "{partitioner}: each partition within ±20% of 300: {counts:?}"
        );
    }
}

#[tokio::test]
async fn the_random_partitioner_ignores_the_key() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-random", 3, 1).await;
    let config = producer_config(cluster.bootstrap_servers(), "random");
    let placed = send_all(&config, &topic.name, &[Some("alice"); 60], Duration::ZERO)
        .await
        .unwrap();
    let counts = histogram(&placed, 3);
    println!("partitioner=random, 60 records with key alice: {counts:?}");
    assert!(
        counts.iter().all(|c| *c > 0),
        "one key, every partition (chance of missing one: 3·(2/3)^60 ≈ 1e-10): {counts:?}"
    );
}

/// librdkafka documents that `consistent_random` treats an empty key like no
/// key; the other hashing partitioners hash the empty key like any other.
#[tokio::test]
async fn an_empty_key_is_no_key_for_the_default_partitioner_but_a_key_for_murmur2_random() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-empty-key", 3, 1).await;
    let empty = [Some(""); 60];
    let mut spread = BTreeMap::new();
    for partitioner in ["consistent_random", "murmur2_random", "fnv1a_random"] {
        let mut config = producer_config(cluster.bootstrap_servers(), partitioner);
        // Sticky partitioning off, so "like no key" means "random per record".
        config.set("sticky.partitioning.linger.ms", "0");
        let placed = send_all(&config, &topic.name, &empty, Duration::ZERO)
            .await
            .unwrap();
        spread.insert(partitioner, histogram(&placed, 3));
    }
    println!("60 records with an empty key, sticky linger 0: {spread:?}");
    assert!(
        spread["consistent_random"].iter().all(|c| *c > 0),
        "consistent_random: the empty key is randomised over every partition: {spread:?}"
    );
    for partitioner in ["murmur2_random", "fnv1a_random"] {
        let used = spread[partitioner].iter().filter(|c| **c > 0).count();
        assert_eq!(
            used, 1,
            "{partitioner} hashes the empty key to one partition: {spread:?}"
        );
    }
    assert_eq!(
        spread["murmur2_random"][reference::murmur2_partition(b"", 3) as usize],
        60
    );
    assert_eq!(
        spread["fnv1a_random"][reference::fnv1a_partition(b"", 3) as usize],
        60
    );
}

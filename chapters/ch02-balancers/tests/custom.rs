//! Custom partitioners: which producer applies them, when librdkafka asks
//! them, and round-robin / least-bytes done by the application. On a real
//! Apache Kafka broker.

use std::collections::BTreeSet;

use ch02_balancers::lab::{Fixed, histogram, reference};
use ch02_balancers::{
    RoundRobin, producer_config, send_least_bytes, send_round_robin, send_through_future_producer,
    send_with_partitioner,
};
use tutorial_lab::testing::{TestTopic, test_cluster};

const KEYS: [&str; 12] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "sybil",
];

fn keyed() -> Vec<Option<&'static str>> {
    KEYS.iter().map(|k| Some(*k)).collect()
}

#[tokio::test]
async fn a_threaded_producer_applies_a_custom_partitioner_to_keyed_records() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-fixed", 3, 1).await;
    let config = producer_config(cluster.bootstrap_servers(), "consistent_random");
    let fixed = Fixed::new(1);
    let calls = fixed.calls.clone();
    let placed = send_with_partitioner(&config, &topic.name, fixed, &keyed()).unwrap();
    println!(
        "Fixed(1), ThreadedProducer: {placed:?}, {} calls",
        calls.get()
    );
    assert_eq!(
        placed,
        vec![1; KEYS.len()],
        "every keyed record in partition 1"
    );
    assert!(calls.get() >= KEYS.len(), "asked at least once per record");
    let crc32: BTreeSet<i32> = KEYS
        .iter()
        .map(|k| reference::crc32_partition(k.as_bytes(), 3))
        .collect();
    assert!(
        crc32.len() > 1,
        "the default would have used several partitions"
    );
}

#[tokio::test]
async fn with_the_default_sticky_linger_keyless_records_never_reach_a_custom_partitioner() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-fixed-sticky", 3, 1).await;
    let config = producer_config(cluster.bootstrap_servers(), "consistent_random");
    let fixed = Fixed::new(1);
    let calls = fixed.calls.clone();
    let placed = send_with_partitioner(&config, &topic.name, fixed, &[None; 60]).unwrap();
    println!(
        "Fixed(1), sticky linger 10 ms, 60 keyless: {:?}, {} calls",
        histogram(&placed, 3),
        calls.get()
    );
    assert_eq!(placed.len(), 60);
    assert_eq!(
        calls.get(),
        0,
        "librdkafka's sticky logic placed them, not Fixed"
    );
}

#[tokio::test]
async fn with_sticky_partitioning_off_a_custom_partitioner_also_places_keyless_records() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-fixed-nosticky", 3, 1).await;
    let mut config = producer_config(cluster.bootstrap_servers(), "consistent_random");
    config.set("sticky.partitioning.linger.ms", "0");
    let fixed = Fixed::new(1);
    let calls = fixed.calls.clone();
    let placed = send_with_partitioner(&config, &topic.name, fixed, &[None; 60]).unwrap();
    println!(
        "Fixed(1), sticky linger 0, 60 keyless: {placed:?}, {} calls",
        calls.get()
    );
    assert_eq!(placed, vec![1; 60]);
    assert!(calls.get() >= 60);
}

/// rust-rdkafka issue #741, checked on rdkafka 0.39: a FutureProducer built
/// with a context that offers a custom partitioner never asks for it.
#[tokio::test]
async fn a_future_producer_ignores_the_custom_partitioner_of_its_context() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-future", 3, 1).await;
    let config = producer_config(cluster.bootstrap_servers(), "consistent_random");
    let fixed = Fixed::new(1);
    let calls = fixed.calls.clone();
    let placed = send_through_future_producer(&config, &topic.name, fixed, &KEYS)
        .await
        .unwrap();
    let crc32: Vec<i32> = KEYS
        .iter()
        .map(|k| reference::crc32_partition(k.as_bytes(), 3))
        .collect();
    println!(
        "Fixed(1) via FutureProducer: {placed:?} ({} calls); CRC32: {crc32:?}",
        calls.get()
    );
    assert_eq!(calls.get(), 0, "the partitioner is never called");
    assert_eq!(
        placed, crc32,
        "the `partitioner` setting placed the records"
    );
    assert_ne!(placed, vec![1; KEYS.len()]);
}

#[tokio::test]
async fn the_custom_round_robin_partitioner_spreads_keyless_records_within_one() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-rr", 3, 1).await;
    let mut config = producer_config(cluster.bootstrap_servers(), "consistent_random");
    config.set("sticky.partitioning.linger.ms", "0");
    let round_robin = RoundRobin::default();
    let calls = round_robin.calls.clone();
    let placed = send_with_partitioner(&config, &topic.name, round_robin, &[None; 301]).unwrap();
    let counts = histogram(&placed, 3);
    println!(
        "custom RoundRobin, 301 keyless records: {counts:?}, {} partitioner calls",
        calls.get()
    );
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(max - min <= 1, "{counts:?}");
    assert_eq!(placed[..6], [0, 1, 2, 0, 1, 2], "in turns, in send order");
}

#[tokio::test]
async fn round_robin_chosen_by_the_application_is_exact_within_one() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-rr-app", 3, 1).await;
    let placed = send_round_robin(cluster.bootstrap_servers(), &topic.name, 3, 301)
        .await
        .unwrap();
    let counts = histogram(&placed, 3);
    println!("application round-robin, 301 records: {counts:?}");
    assert_eq!(counts, vec![101, 100, 100]);
}

#[tokio::test]
async fn least_bytes_keeps_the_partitions_byte_totals_within_one_record() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-lb", 3, 1).await;
    let sizes: Vec<usize> = (0..90).map(|i| 100 + (i * 37) % 900).collect();
    let totals = send_least_bytes(cluster.bootstrap_servers(), &topic.name, 3, &sizes)
        .await
        .unwrap();
    println!("least-bytes, 90 records of 100-999 bytes: {totals:?}");
    let (min, max) = (*totals.iter().min().unwrap(), *totals.iter().max().unwrap());
    let largest = *sizes.iter().max().unwrap() as u64;
    assert_eq!(
        totals.iter().sum::<u64>(),
        sizes.iter().sum::<usize>() as u64
    );
    assert!(
        max - min <= largest,
        "{totals:?} differ by more than one record"
    );
}

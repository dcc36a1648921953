//! Keyless records under librdkafka's default partitioner: sticky for
//! `sticky.partitioning.linger.ms`, random without it. Measured on a real
//! Apache Kafka broker.

use std::time::Duration;

use ch02_balancers::lab::{histogram, switches};
use ch02_balancers::{producer_config, send_all};
use tutorial_lab::testing::{TestTopic, test_cluster};

#[tokio::test]
async fn a_burst_of_keyless_records_sticks_to_one_partition_by_default() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-sticky", 3, 1).await;
    for partitioner in [
        "consistent_random",
        "murmur2_random",
        "fnv1a_random",
        "random",
    ] {
        let config = producer_config(cluster.bootstrap_servers(), partitioner);
        let placed = send_all(&config, &topic.name, &[None; 200], Duration::ZERO)
            .await
            .unwrap();
        let counts = histogram(&placed, 3);
        println!(
            "{partitioner}: 200 keyless records in a burst: {counts:?}, {} partition changes",
            switches(&placed)
        );
        // Enqueuing 200 records takes well under the 10 ms linger, so they
        // all share one sticky partition. (At random, the largest share
        // would be about a third.) The bound leaves room for a scheduler
        // hiccup.
        let largest = *counts.iter().max().unwrap();
        assert!(
            largest >= 180,
            "{partitioner}: one partition takes (nearly) all: {counts:?}"
        );
        assert!(switches(&placed) <= 2, "{partitioner}: {placed:?}");
    }
}

#[tokio::test]
async fn keyless_records_spaced_beyond_the_sticky_linger_spread_over_every_partition() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-spaced", 3, 1).await;
    let config = producer_config(cluster.bootstrap_servers(), "consistent_random");
    // 25 ms between records > the 10 ms linger: each record rolls a new
    // random partition (which may repeat the last one).
    let placed = send_all(&config, &topic.name, &[None; 40], Duration::from_millis(25))
        .await
        .unwrap();
    let counts = histogram(&placed, 3);
    println!(
        "40 keyless records 25 ms apart: {counts:?}, {} partition changes",
        switches(&placed)
    );
    assert!(
        counts.iter().all(|c| *c > 0),
        "every partition gets some (chance of missing one: 3·(2/3)^40 ≈ 2e-7): {counts:?}"
    );
    assert!(
        switches(&placed) >= 10,
        "the partition keeps changing: {placed:?}"
    );
}

#[tokio::test]
async fn with_sticky_partitioning_off_keyless_records_are_spread_at_random() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-nosticky", 3, 1).await;
    let mut config = producer_config(cluster.bootstrap_servers(), "consistent_random");
    config.set("sticky.partitioning.linger.ms", "0");
    let placed = send_all(&config, &topic.name, &[None; 300], Duration::ZERO)
        .await
        .unwrap();
    let counts = histogram(&placed, 3);
    println!(
        "300 keyless records in a burst, sticky linger 0: {counts:?}, {} partition changes",
        switches(&placed)
    );
    // Binomial(300, 1/3): mean 100, standard deviation ≈ 8.2.
    assert!(
        counts.iter().all(|c| (50..=150).contains(c)),
        "random, roughly even: {counts:?}"
    );
    assert!(
        switches(&placed) >= 100,
        "not sticky: {}",
        switches(&placed)
    );
}

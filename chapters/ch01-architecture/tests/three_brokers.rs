//! Claims that need three brokers. `#[ignore]`d in the single-broker phase;
//! `cargo xtask test` runs them (`--ignored`) against a three-node cluster
//! and checks that as many ran as were set aside.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ch01_architecture::lesson::{TopicOutcome, create_topic, describe_partitions};
use tutorial_lab::testing::{test_cluster_with_brokers, unique_name};
use tutorial_support::topics::delete_topic;

#[tokio::test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
async fn a_topic_with_replication_factor_3_has_three_in_sync_replicas_and_spread_leaders() {
    let cluster = test_cluster_with_brokers(3);
    let topic = unique_name("ch01-rf3");
    let outcome = create_topic(cluster.bootstrap_servers(), &topic, 3, 3)
        .await
        .unwrap();
    assert_eq!(outcome, TopicOutcome::Created);
    // Followers join the ISR once they have caught up; give them a moment.
    let deadline = Instant::now() + Duration::from_secs(30);
    let partitions = loop {
        let partitions = describe_partitions(cluster.bootstrap_servers(), &topic).unwrap();
        if partitions.iter().all(|p| p.isr.len() == 3) || Instant::now() > deadline {
            break partitions;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for p in &partitions {
        assert_eq!(p.replicas.len(), 3, "partition {}: {:?}", p.id, p.replicas);
        let replicas: BTreeSet<i32> = p.replicas.iter().copied().collect();
        let isr: BTreeSet<i32> = p.isr.iter().copied().collect();
        assert_eq!(
            isr, replicas,
            "partition {}: all three replicas in sync",
            p.id
        );
        assert!(
            isr.contains(&p.leader),
            "the leader is one of the in-sync replicas"
        );
    }
    let leaders: BTreeSet<i32> = partitions.iter().map(|p| p.leader).collect();
    assert_eq!(
        leaders.len(),
        3,
        "leadership is spread over the brokers: {partitions:?}"
    );
    delete_topic(&cluster, &topic).await.unwrap();
}

/// In KRaft mode a broker answers the metadata request's "controller id"
/// with a random live broker (clients cannot reach the controllers, see
/// KIP-590), so fresh clients see different "controllers" on one cluster.
#[test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
#[allow(unsafe_code)]
fn the_controller_id_in_metadata_is_a_random_live_broker_not_the_quorum_leader() {
    use rdkafka::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};

    let cluster = test_cluster_with_brokers(3);
    let broker_ids: BTreeSet<i32> = cluster.brokers().iter().map(|b| b.id).collect();
    let mut seen = BTreeSet::new();
    for _ in 0..20 {
        let client: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .create()
            .unwrap();
        // rust-rdkafka has no safe wrapper for rd_kafka_controllerid; the
        // pointer is valid for the life of `client`.
        let id = unsafe {
            rdkafka::bindings::rd_kafka_controllerid(client.client().native_ptr(), 10_000)
        };
        assert!(
            broker_ids.contains(&id),
            "controller id {id} is not a live broker"
        );
        seen.insert(id);
    }
    assert!(
        seen.len() > 1,
        "20 fresh clients all saw controller {seen:?}: a fixed controller would look like this, a random broker would not"
    );
}

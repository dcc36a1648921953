//! Chapter 二.1's claims, proven on a real Apache Kafka broker.

use ch02_topic_admin::lab::{partition_count, wait_for_partition_count, wait_until_visible};
use ch02_topic_admin::{
    Created, TopicSpec, admin_client, create_topic, describe_topic_configs, grow_partitions,
    key_placement,
};
use rdkafka::admin::AdminOptions;
use tutorial_lab::testing::{crc32, test_cluster, unique_name};

fn spec(partitions: i32, replication: i32, configs: &[(&str, &str)]) -> TopicSpec {
    TopicSpec {
        name: unique_name("ch02-admin"),
        partitions,
        replication,
        configs: configs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    }
}

async fn delete(admin: &ch02_topic_admin::Admin, topic: &str) {
    let _ = admin.delete_topics(&[topic], &AdminOptions::new()).await;
}

#[tokio::test]
async fn topic_configs_are_applied_as_requested_and_the_rest_inherit_broker_defaults() {
    let cluster = test_cluster();
    let admin = admin_client(cluster.bootstrap_servers()).unwrap();
    let spec = spec(
        2,
        1,
        &[
            ("min.insync.replicas", "1"),
            ("retention.ms", "3600000"),
            ("cleanup.policy", "compact"),
        ],
    );
    let outcome = create_topic(&admin, &spec, cluster.brokers().len())
        .await
        .unwrap();
    assert_eq!(outcome, Created::Created);
    wait_until_visible(&admin, &spec.name).await.unwrap();
    assert_eq!(
        partition_count(cluster.bootstrap_servers(), &spec.name).unwrap(),
        2
    );
    let applied = describe_topic_configs(
        &admin,
        &spec.name,
        &[
            "min.insync.replicas",
            "retention.ms",
            "cleanup.policy",
            "segment.bytes",
        ],
    )
    .await
    .unwrap();
    let view: Vec<(&str, &str, bool)> = applied
        .iter()
        .map(|c| (c.name.as_str(), c.value.as_str(), c.set_on_topic))
        .collect();
    assert_eq!(view[0], ("min.insync.replicas", "1", true));
    assert_eq!(view[1], ("retention.ms", "3600000", true));
    assert_eq!(view[2], ("cleanup.policy", "compact", true));
    assert_eq!(view[3].0, "segment.bytes");
    assert!(!view[3].2, "segment.bytes was not set, so it is inherited");
    delete(&admin, &spec.name).await;
}

#[tokio::test]
async fn creating_an_existing_topic_reports_already_exists_and_changes_nothing() {
    let cluster = test_cluster();
    let admin = admin_client(cluster.bootstrap_servers()).unwrap();
    let mut spec = spec(2, 1, &[("retention.ms", "3600000")]);
    assert_eq!(
        create_topic(&admin, &spec, 1).await.unwrap(),
        Created::Created
    );
    wait_until_visible(&admin, &spec.name).await.unwrap();
    spec.partitions = 5;
    spec.configs = vec![("retention.ms".into(), "60000".into())];
    assert_eq!(
        create_topic(&admin, &spec, 1).await.unwrap(),
        Created::AlreadyExists
    );
    assert_eq!(
        partition_count(cluster.bootstrap_servers(), &spec.name).unwrap(),
        2
    );
    let applied = describe_topic_configs(&admin, &spec.name, &["retention.ms"])
        .await
        .unwrap();
    assert_eq!(
        applied[0].value, "3600000",
        "the second create changed nothing"
    );
    delete(&admin, &spec.name).await;
}

#[tokio::test]
async fn a_replication_factor_larger_than_the_broker_count_names_both_numbers() {
    let cluster = test_cluster();
    let brokers = cluster.brokers().len();
    let admin = admin_client(cluster.bootstrap_servers()).unwrap();
    let spec = spec(1, brokers as i32 + 2, &[]);
    let error = create_topic(&admin, &spec, brokers).await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains(&format!("replication factor {}", brokers + 2))
            && text.contains(&format!("only {brokers} broker")),
        "{text}"
    );
}

#[tokio::test]
async fn an_unknown_config_name_is_named_in_the_error() {
    let cluster = test_cluster();
    let admin = admin_client(cluster.bootstrap_servers()).unwrap();
    let spec = spec(
        1,
        1,
        &[("retention.ms", "3600000"), ("retention.mss", "1000")],
    );
    let text = create_topic(&admin, &spec, 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("retention.mss=1000"), "{text}");
    assert!(
        !text.contains("retention.ms=3600000"),
        "the valid setting is not blamed: {text}"
    );
}

#[tokio::test]
async fn an_invalid_config_value_is_named_in_the_error() {
    let cluster = test_cluster();
    let admin = admin_client(cluster.bootstrap_servers()).unwrap();
    let spec = spec(
        1,
        1,
        &[("cleanup.policy", "shred"), ("retention.ms", "3600000")],
    );
    let text = create_topic(&admin, &spec, 1)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("cleanup.policy=shred"), "{text}");
    assert!(!text.contains("retention.ms"), "{text}");
}

#[tokio::test]
async fn growing_a_topic_moves_keys_to_other_partitions() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let admin = admin_client(bootstrap).unwrap();
    let spec = spec(3, 1, &[]);
    create_topic(&admin, &spec, 1).await.unwrap();
    let keys = ["alice", "bob", "erin", "grace", "mallory", "sybil"];
    let before = key_placement(bootstrap, &spec.name, &keys).await.unwrap();
    grow_partitions(&admin, &spec.name, 4).await.unwrap();
    wait_for_partition_count(&admin, &spec.name, 4)
        .await
        .unwrap();
    let after = key_placement(bootstrap, &spec.name, &keys).await.unwrap();
    for key in keys {
        let hash = crc32(key.as_bytes());
        assert_eq!(before[key], (hash % 3) as i32, "{key} before growing");
        assert_eq!(after[key], (hash % 4) as i32, "{key} after growing");
    }
    let moved = keys.iter().filter(|k| before[**k] != after[**k]).count();
    assert!(
        moved > 0,
        "growing 3 → 4 moves keys: {before:?} vs {after:?}"
    );
    delete(&admin, &spec.name).await;
}

#[tokio::test]
async fn the_partition_count_cannot_shrink() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let admin = admin_client(bootstrap).unwrap();
    let spec = spec(3, 1, &[]);
    create_topic(&admin, &spec, 1).await.unwrap();
    // CreateTopics answers before every broker's metadata knows the topic
    // (a metadata query right after it once got UnknownTopicOrPartition in CI).
    tutorial_support::topics::wait_for_leaders(
        admin.inner(),
        &spec.name,
        Some(3),
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap();
    let text = grow_partitions(&admin, &spec.name, 2)
        .await
        .unwrap_err()
        .to_string();
    assert!(text.contains("can only grow"), "{text}");
    assert_eq!(partition_count(bootstrap, &spec.name).unwrap(), 3);
    delete(&admin, &spec.name).await;
}

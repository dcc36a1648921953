//! Commit errors the read loop must expect, and the defaults the page names.

use std::time::Duration;

use ch03_manual_commit::lab::{
    CommitCounter, Mode, Reader, committed_offset, consumer_config, produce, subscribe,
};
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer};
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name, within};
use tutorial_support::settings::effective;

#[test]
fn librdkafka_offset_defaults_named_on_this_page() {
    let defaults = effective(
        &ClientConfig::new(),
        &[
            "enable.auto.commit",
            "auto.commit.interval.ms",
            "enable.auto.offset.store",
            "session.timeout.ms",
        ],
    )
    .unwrap();
    let values: Vec<&str> = defaults.iter().map(|s| s.value.as_str()).collect();
    assert_eq!(values, vec!["true", "5000", "true", "45000"]);
}

#[tokio::test]
async fn committing_with_nothing_stored_reports_no_offset_stored() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-nooffset", 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, 3)
        .await
        .unwrap();
    let consumer = subscribe(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("ch03-g"),
        Mode::StoreAfter,
    )
    .unwrap();
    let _first = within(Duration::from_secs(30), "first record", consumer.recv())
        .await
        .unwrap();
    // Received, but nothing stored yet (store-after mode stores only after processing).
    let error = consumer
        .commit_consumer_state(CommitMode::Sync)
        .unwrap_err();
    assert!(error.to_string().contains("No offset stored"), "{error}");
}

#[tokio::test]
async fn storing_an_offset_for_a_revoked_partition_fails() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-revoked", 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, 3)
        .await
        .unwrap();
    let consumer = subscribe(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("ch03-g"),
        Mode::StoreAfter,
    )
    .unwrap();
    let message = within(Duration::from_secs(30), "first record", consumer.recv())
        .await
        .unwrap();
    // Processing took too long, the group moved on: the partition is gone.
    consumer.unsubscribe();
    // The revocation is applied when the consumer next serves its events.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while consumer.assignment().unwrap().count() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the partition was never revoked"
        );
        let _ = tokio::time::timeout(Duration::from_millis(200), consumer.recv()).await;
    }
    let store = consumer.store_offset_from_message(&message);
    let error = store.expect_err("the partition is no longer assigned");
    assert!(error.to_string().contains("Erroneous state"), "{error}");
}

/// `enable.auto.commit=false` and no commit of our own: the records are
/// read (and their offsets stored, as by default), the consumer is closed,
/// and the group still has no committed offset — closing commits only when
/// auto-commit is on.
#[tokio::test]
async fn without_auto_commit_and_without_a_commit_the_group_offset_never_moves() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-nocommit", 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, 3)
        .await
        .unwrap();
    let group = unique_name("ch03-g");
    let consumer = subscribe(
        cluster.bootstrap_servers(),
        &topic.name,
        &group,
        Mode::SyncCommit,
    )
    .unwrap();
    for _ in 0..3 {
        within(Duration::from_secs(30), "a record", consumer.recv())
            .await
            .unwrap();
    }
    tokio::task::spawn_blocking(move || drop(consumer))
        .await
        .unwrap();
    assert_eq!(
        committed_offset(cluster.bootstrap_servers(), &topic.name, &group).unwrap(),
        None
    );
}

/// The other side of the same rule: with auto-commit on (its timer at 10
/// minutes, so it never fires here) and no commit of our own, closing the
/// consumer commits what was stored — librdkafka commits the stored
/// offsets of the partitions it gives up.
#[tokio::test]
async fn with_auto_commit_closing_the_consumer_commits_what_was_stored() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-closecommit", 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, 3)
        .await
        .unwrap();
    let group = unique_name("ch03-g");
    let consumer: Reader = consumer_config(cluster.bootstrap_servers(), &group, Mode::StoreAfter)
        .set("auto.commit.interval.ms", "600000")
        .create_with_context(CommitCounter::default())
        .unwrap();
    consumer.subscribe(&[&topic.name]).unwrap();
    for _ in 0..3 {
        let message = within(Duration::from_secs(30), "a record", consumer.recv())
            .await
            .unwrap();
        consumer.store_offset_from_message(&message).unwrap();
    }
    assert_eq!(
        committed_offset(cluster.bootstrap_servers(), &topic.name, &group).unwrap(),
        None,
        "nothing committed while reading"
    );
    tokio::task::spawn_blocking(move || drop(consumer))
        .await
        .unwrap();
    assert_eq!(
        committed_offset(cluster.bootstrap_servers(), &topic.name, &group).unwrap(),
        Some(3)
    );
}

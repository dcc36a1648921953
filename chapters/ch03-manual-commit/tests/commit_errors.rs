//! Commit errors the read loop must expect, and the defaults the page names.

use std::time::Duration;

use ch03_manual_commit::lab::{Mode, produce, subscribe};
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

//! Decides `ex-create-topic` on the real broker: created once, "already
//! exists" the second time, the setting applied on the topic, and an
//! impossible replication factor reported as an error.

use std::time::Duration;

use ex_create_topic::{Admin, Created, ensure_topic};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminOptions, ResourceSpecifier};
use tutorial_lab::testing::{test_cluster, unique_name};
use tutorial_support::topics::delete_topic;

#[tokio::test]
async fn create_twice_with_settings_and_refuse_the_impossible() {
    let cluster = test_cluster();
    let admin: Admin = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let name = unique_name("ex-create-topic");
    let configs = [("retention.ms", "3600000"), ("cleanup.policy", "delete")];

    let first = ensure_topic(&admin, &name, 3, 1, &configs).await;
    let second = ensure_topic(&admin, &name, 3, 1, &configs).await;
    // Right after CreateTopics the broker answering DescribeConfigs may not
    // know the topic's configs yet: ask again (bounded) until it does.
    let mut retention = None;
    for _ in 0..30 {
        let described = admin
            .describe_configs(
                [&ResourceSpecifier::Topic(&name)],
                &AdminOptions::new().request_timeout(Some(Duration::from_secs(15))),
            )
            .await;
        retention = described
            .ok()
            .and_then(|results| results.into_iter().next())
            .and_then(|result| result.ok())
            .and_then(|resource| resource.get("retention.ms").and_then(|e| e.value.clone()));
        if retention.is_some() || first.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let impossible = ensure_topic(&admin, &unique_name("ex-create-topic-rf"), 1, 99, &[]).await;
    let _ = delete_topic(&cluster, &name).await;

    assert_eq!(first.expect("first ensure_topic"), Created::Created);
    assert_eq!(
        second.expect("the second ensure_topic must not fail: the topic is there, as wanted"),
        Created::AlreadyExists
    );
    assert_eq!(
        retention.as_deref(),
        Some("3600000"),
        "retention.ms not set on the topic"
    );
    let error = impossible.expect_err("99 replicas on this cluster must be an error");
    assert!(
        error.to_string().contains("eplication"),
        "the error should name the replication factor problem: {error:#}"
    );
}

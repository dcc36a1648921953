//! What the KIP-848 consumer protocol (`group.protocol=consumer`) does with
//! the classic protocol's client settings, and where its timing lives.

use std::time::Duration;

use ch03_rebalance::lab::Group;
use ch03_rebalance::lesson::Protocol;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name, within};

/// The error librdkafka gives when a consumer is created with `key=value`
/// under `protocol`, or `None` if it is created.
fn creation_error(protocol: &str, key: &str, value: &str) -> Option<String> {
    let cluster = test_cluster();
    let created = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", unique_name("ch03-kip848"))
        .set("group.protocol", protocol)
        .set(key, value)
        .create::<BaseConsumer>();
    match created {
        Ok(_) => None,
        Err(KafkaError::ClientCreation(message)) => Some(message),
        Err(other) => panic!("unexpected error: {other}"),
    }
}

#[test]
fn the_consumer_protocol_refuses_session_timeout_heartbeat_interval_and_assignment_strategy() {
    let refused = [
        (
            "session.timeout.ms",
            "6000",
            "`session.timeout.ms` is not supported for `group.protocol=consumer`. \
             It is defined broker side",
        ),
        (
            "heartbeat.interval.ms",
            "2000",
            "`heartbeat.interval.ms` is not supported for `group.protocol=consumer`. \
             It is defined broker side",
        ),
        (
            "partition.assignment.strategy",
            "cooperative-sticky",
            "`partition.assignment.strategy` is not supported for `group.protocol=consumer`. \
             Use `group.remote.assignor` instead",
        ),
    ];
    for (key, value, expected) in refused {
        assert_eq!(
            creation_error("consumer", key, value).as_deref(),
            Some(expected),
            "{key}"
        );
        // The same setting is fine under the classic protocol.
        assert_eq!(creation_error("classic", key, value), None, "{key}");
    }
}

/// The assignor is named with `group.remote.assignor` and computed by the
/// broker: `range` (one of the broker's `group.consumer.assignors`) forms
/// the group; a name the broker lacks is refused by the broker, fatally.
#[tokio::test]
async fn the_consumer_protocol_sends_group_remote_assignor_to_the_broker_which_refuses_one_it_lacks()
 {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-assignor", 6, 1).await;
    let mut group = Group::new(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("g"),
        Protocol::Consumer,
    );
    let range = [("group.remote.assignor", "range")];
    group.join_with("a", None, &range).unwrap();
    group.join_with("b", None, &range).unwrap();
    group
        .settle(6, Duration::from_secs(2), Duration::from_secs(60))
        .await
        .unwrap();
    let sizes: Vec<usize> = group.assignment().values().map(|p| p.len()).collect();
    assert_eq!(sizes, vec![3, 3], "{:?}", group.assignment());
    group.close().await.unwrap();

    let unknown: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", unique_name("g"))
        .set("group.protocol", "consumer")
        .set("group.remote.assignor", "no-such-assignor")
        .create()
        .unwrap();
    unknown.subscribe(&[&topic.name]).unwrap();
    let error = within(
        Duration::from_secs(30),
        "the broker's answer",
        unknown.recv(),
    )
    .await
    .expect_err("no assignment with an unknown assignor");
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::UnsupportedAssignor),
        "{error}"
    );
    tokio::task::spawn_blocking(move || drop(unknown))
        .await
        .unwrap();
}

/// Under the consumer protocol, session timeout and heartbeat interval are
/// the broker's `group.consumer.*` settings; these are its defaults.
#[tokio::test]
async fn the_broker_sets_the_consumer_protocols_session_timeout_and_heartbeat_interval() {
    let cluster = test_cluster();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    let broker = metadata.brokers().first().expect("a broker").id();
    let described = admin
        .describe_configs(
            &[ResourceSpecifier::Broker(broker)],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    let config = described
        .into_iter()
        .next()
        .unwrap()
        .expect("broker config");
    let value = |name: &str| {
        config
            .get(name)
            .and_then(|entry| entry.value.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    println!(
        "group.consumer.session.timeout.ms={} group.consumer.heartbeat.interval.ms={} group.consumer.assignors={}",
        value("group.consumer.session.timeout.ms"),
        value("group.consumer.heartbeat.interval.ms"),
        value("group.consumer.assignors")
    );
    assert_eq!(value("group.consumer.session.timeout.ms"), "45000");
    assert_eq!(value("group.consumer.heartbeat.interval.ms"), "5000");
}

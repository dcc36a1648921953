//! kafka-go's answers to the same CreateTopics requests, from the real
//! broker (the chapter's Go program, kafka-go v0.4.51; needs Go on the
//! PATH and fails, saying so, without it).

use ch02_topic_admin::lab::kafka_go::kafka_go_create;
use ch02_topic_admin::lab::wait_until_visible;
use ch02_topic_admin::{Created, TopicSpec, admin_client, create_topic};
use rdkafka::admin::AdminOptions;
use tutorial_lab::testing::{test_cluster, unique_name};

/// Kafka's error codes (the protocol's, the same in every client).
const TOPIC_ALREADY_EXISTS: i32 = 36;
const INVALID_CONFIG: i32 = 40;

/// `Conn.CreateTopics` skips error code 36 (v0.4.51 `createtopics.go`,
/// `if tr.ErrorCode == int16(TopicAlreadyExists) { continue }`): an
/// existing topic is a nil error. `Client.CreateTopics` reports it.
#[tokio::test]
async fn kafka_go_conn_create_topics_answers_nil_for_an_existing_topic_client_reports_it() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let admin = admin_client(bootstrap).unwrap();
    let spec = TopicSpec {
        name: unique_name("ch02-admin-go"),
        partitions: 1,
        replication: 1,
        configs: Vec::new(),
    };
    assert_eq!(
        create_topic(&admin, &spec, 1).await.unwrap(),
        Created::Created
    );
    wait_until_visible(&admin, &spec.name).await.unwrap();
    // rdkafka: the per-topic result is the error code TopicAlreadyExists,
    // which the lesson turns into an answer.
    assert_eq!(
        create_topic(&admin, &spec, 1).await.unwrap(),
        Created::AlreadyExists
    );

    let go = kafka_go_create(bootstrap, &spec.name, 1, &[]).await;
    let _ = admin
        .delete_topics(&[spec.name.as_str()], &AdminOptions::new())
        .await;
    let go = go.unwrap_or_else(|e| panic!("{e:#}"));
    println!("{go:?}");
    assert_eq!(go.conn.code, 0, "Conn.CreateTopics: {go:?}");
    assert_eq!(go.conn.error, "<nil>");
    assert_eq!(
        go.client.code, TOPIC_ALREADY_EXISTS,
        "Client.CreateTopics: {go:?}"
    );
}

/// The broker's answer carries an error message that names the rejected
/// setting; kafka-go's `Client` passes it on, its `Conn` returns the bare
/// code. (rdkafka's admin results carry the code only: see `error_text.rs`.)
#[tokio::test]
async fn the_broker_names_the_rejected_setting_in_its_error_message_kafka_go_client_passes_it_on() {
    let cluster = test_cluster();
    let topic = unique_name("ch02-admin-go-bad");
    let go = kafka_go_create(
        cluster.bootstrap_servers(),
        &topic,
        1,
        &[("cleanup.policy", "shred"), ("retention.ms", "3600000")],
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{go:?}");
    assert_eq!(go.client.code, INVALID_CONFIG, "{go:?}");
    assert!(
        go.client.error.contains("cleanup.policy") && go.client.error.contains("shred"),
        "the message names the setting: {go:?}"
    );
    assert_eq!(go.conn.code, INVALID_CONFIG, "{go:?}");
    assert!(
        !go.conn.error.contains("cleanup.policy"),
        "Conn returns kafka.Error(code) without the message: {go:?}"
    );
}

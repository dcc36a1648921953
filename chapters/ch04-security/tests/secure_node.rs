//! Proofs on the secured node of `cargo xtask kafka up --secure`.
//!
//! Every test here is named `secure_node_*`: `cargo xtask test` skips that
//! name in its 1-broker and 3-broker phases (`--skip secure_node_`) and runs
//! exactly these in its own phase, with the secured node started. Run them
//! by hand with the node up: `cargo test -p ch04-security secure_node_`.
//! Without the node they fail, saying how to start it.

use std::time::Duration;

use ch04_security::lab::SecureNode;
use ch04_security::lab::acls::{self, Resource};
use ch04_security::lesson::{
    Login, LoginError, check_login, consume_counted, create_topic, produce_counted, secure_config,
};
use kafka_layout::secure::{ADMIN, ALICE, BOB};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use tutorial_support::topics::unique_name;

/// Bound of one login check: far above the ~1 s a refusal takes.
const LOGIN_LIMIT: Duration = Duration::from_secs(30);

fn node() -> SecureNode {
    SecureNode::find().unwrap_or_else(|missing| panic!("{missing}"))
}

fn login(node: &SecureNode, user: &str) -> Login {
    node.login(user).expect("the generated password")
}

fn code_of(error: &Option<rdkafka::error::KafkaError>) -> Option<RDKafkaErrorCode> {
    error.as_ref().and_then(|e| e.rdkafka_error_code())
}

/// Records in partition 0 of `topic`, asked as the admin (high watermark).
fn records_in(node: &SecureNode, topic: &str) -> i64 {
    let consumer: BaseConsumer = secure_config(&login(node, ADMIN))
        .create()
        .expect("admin consumer");
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(20))
        .expect("watermarks");
    high - low
}

async fn admin_topic(node: &SecureNode, prefix: &str) -> String {
    let topic = unique_name(prefix);
    create_topic(&secure_config(&login(node, ADMIN)), &topic, 1)
        .await
        .unwrap_or_else(|code| panic!("the admin could not create {topic}: {code:?}"));
    topic
}

#[test]
fn secure_node_refuses_a_plaintext_client() {
    let node = node();
    let mut config = secure_config(&login(&node, ALICE));
    config.set("security.protocol", "plaintext");
    let error = check_login(&config, LOGIN_LIMIT).unwrap_err();
    assert!(matches!(&error, LoginError::Transport(_)), "{error}");
    assert!(error.to_string().contains("security.protocol"), "{error}");
}

#[test]
fn secure_node_refuses_a_client_that_does_not_trust_its_ca() {
    let node = node();
    // No ssl.ca.location: OpenSSL's default store, which lacks our CA.
    let mut without_ca = login(&node, ALICE);
    without_ca.ca_location = None;
    let error = check_login(&secure_config(&without_ca), LOGIN_LIMIT).unwrap_err();
    assert!(
        matches!(&error, LoginError::Tls(reason) if reason.contains("certificate verify failed")),
        "{error}"
    );
}

#[test]
fn secure_node_refuses_a_hostname_mismatch() {
    let node = node();
    // The certificate names `localhost` only; 127.0.0.1 is the same socket
    // but not the same name.
    let mut by_ip = login(&node, ALICE);
    by_ip.bootstrap = node.bootstrap.replace("localhost", "127.0.0.1");
    let error = check_login(&secure_config(&by_ip), LOGIN_LIMIT).unwrap_err();
    assert!(
        matches!(&error, LoginError::Tls(reason) if reason.contains("certificate verify failed")),
        "{error}"
    );
    // The same address is accepted once verification is off — which is
    // exactly why nobody should turn it off.
    let mut config = secure_config(&by_ip);
    config.set("ssl.endpoint.identification.algorithm", "none");
    assert_eq!(
        check_login(&config, LOGIN_LIMIT).expect("no verification"),
        1
    );
}

#[test]
fn secure_node_refuses_a_wrong_password_and_an_unknown_user_alike() {
    let node = node();
    let wrong = Login::new(&node.bootstrap, Some(node.ca.clone()), ALICE, "not-it");
    let unknown = Login::new(&node.bootstrap, Some(node.ca.clone()), "mallory", "x");
    let reasons: Vec<String> = [wrong, unknown]
        .iter()
        .map(
            |login| match check_login(&secure_config(login), LOGIN_LIMIT) {
                Err(LoginError::Authentication(reason)) => reason,
                other => panic!("expected an authentication error, got {other:?}"),
            },
        )
        .collect();
    for reason in &reasons {
        assert!(reason.contains("invalid credentials"), "{reason}");
        assert!(reason.contains("SCRAM-SHA-512"), "{reason}");
    }
    // The broker does not tell an unknown user from a wrong password (the
    // reasons differ only in librdkafka's "(after N ms in state …)").
    let tail = |r: &str| r.split(" (after ").next().unwrap_or(r).to_string();
    assert_eq!(tail(&reasons[0]), tail(&reasons[1]));
}

#[test]
fn secure_node_accepts_the_generated_login() {
    let node = node();
    assert_eq!(
        check_login(&secure_config(&login(&node, ALICE)), LOGIN_LIMIT).unwrap(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_node_user_without_acls_writes_and_reads_nothing_until_granted() {
    let node = node();
    let topic = admin_topic(&node, "secure-test-orders").await;
    let group = unique_name("secure-test-billing");
    let alice = secure_config(&login(&node, ALICE));

    let produced = produce_counted(&alice, &topic, 5).await;
    assert_eq!(produced.delivered, 0);
    assert_eq!(
        code_of(&produced.error),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{:?}",
        produced.error
    );
    assert_eq!(records_in(&node, &topic), 0, "nothing was written");

    // Something for alice to (not) read.
    let seeded = produce_counted(&secure_config(&login(&node, ADMIN)), &topic, 3).await;
    assert_eq!(seeded.delivered, 3, "{:?}", seeded.error);
    let consumed = consume_counted(&alice, &topic, &group, 3, Duration::from_secs(30)).await;
    assert_eq!(consumed.records, 0);
    assert_eq!(
        code_of(&consumed.error),
        Some(RDKafkaErrorCode::GroupAuthorizationFailed),
        "{:?}",
        consumed.error
    );

    acls::grant(&node, ALICE, &["Write", "Read"], &[Resource::Topic(&topic)])
        .await
        .expect("grant on the topic");
    acls::grant(&node, ALICE, &["Read"], &[Resource::Group(&group)])
        .await
        .expect("grant on the group");

    let produced = acls::produce_when_allowed(&alice, &topic, 5).await;
    assert_eq!(produced.delivered, 5, "{:?}", produced.error);
    assert_eq!(records_in(&node, &topic), 8);
    let consumed = consume_counted(&alice, &topic, &group, 8, Duration::from_secs(30)).await;
    assert_eq!(consumed.records, 8, "{:?}", consumed.error);

    // WRITE on the topic is enough for an idempotent producer on Kafka 4.3
    // (no IDEMPOTENT_WRITE on the cluster, KIP-679)…
    let mut idempotent = alice.clone();
    idempotent.set("enable.idempotence", "true");
    let produced = produce_counted(&idempotent, &topic, 2).await;
    assert_eq!(produced.delivered, 2, "{:?}", produced.error);
    // …but a transactional id is a resource of its own, with its own ACL.
    let transactional_id = unique_name("secure-test-tx");
    let error = init_transactions(&alice, &transactional_id)
        .await
        .expect_err("no ACL on the transactional id");
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::TransactionalIdAuthorizationFailed),
        "{error}"
    );
    acls::grant(
        &node,
        ALICE,
        &["Write"],
        &[Resource::TransactionalId(&transactional_id)],
    )
    .await
    .expect("grant on the transactional id");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match init_transactions(&alice, &transactional_id).await {
            Ok(()) => break,
            Err(error) if std::time::Instant::now() > deadline => {
                panic!("init_transactions after the grant: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// A fresh transactional producer's `init_transactions` (blocking, bounded).
async fn init_transactions(
    config: &ClientConfig,
    transactional_id: &str,
) -> rdkafka::error::KafkaResult<()> {
    let mut config = config.clone();
    config.set("transactional.id", transactional_id);
    let producer: rdkafka::producer::BaseProducer = config.create().expect("producer");
    tokio::task::spawn_blocking(move || {
        use rdkafka::producer::Producer;
        producer.init_transactions(Duration::from_secs(30))
    })
    .await
    .expect("init_transactions thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_node_reader_of_one_topic_cannot_read_another_create_topics_or_alter_acls() {
    let node = node();
    let allowed = admin_topic(&node, "secure-test-public").await;
    let other = admin_topic(&node, "secure-test-payroll").await;
    let group = unique_name("secure-test-bob");
    let admin = secure_config(&login(&node, ADMIN));
    for topic in [&allowed, &other] {
        assert_eq!(produce_counted(&admin, topic, 4).await.delivered, 4);
    }
    acls::grant(
        &node,
        BOB,
        &["Read"],
        &[Resource::Topic(&allowed), Resource::Group(&group)],
    )
    .await
    .expect("grant bob");
    let bob = secure_config(&login(&node, BOB));

    let read = read_when_allowed(&bob, &allowed, &group).await;
    assert_eq!(read, 4);
    let denied = consume_counted(&bob, &other, &group, 4, Duration::from_secs(30)).await;
    assert_eq!(denied.records, 0);
    assert_eq!(
        code_of(&denied.error),
        Some(RDKafkaErrorCode::TopicAuthorizationFailed),
        "{:?}",
        denied.error
    );

    let created = create_topic(&bob, &unique_name("secure-test-bob-new"), 1).await;
    assert_eq!(created, Err(RDKafkaErrorCode::TopicAuthorizationFailed));

    let output = acls::run_as(
        &node,
        BOB,
        &acls::grant_args(BOB, &["Read"], &[Resource::Topic(&other)]),
    )
    .await
    .expect("kafka-acls runs");
    assert!(
        !output.success(),
        "bob must not add ACLs:\n{}",
        output.text()
    );
    assert!(
        output.text().contains("ClusterAuthorizationException"),
        "{}",
        output.text()
    );
    // And still nothing for bob on the other topic.
    let denied = consume_counted(&bob, &other, &group, 4, Duration::from_secs(20)).await;
    assert_eq!(denied.records, 0);
}

/// Reads `topic` as `config` in `group`, retrying while the grant is on its
/// way to the authorizer (bounded: 30 s).
async fn read_when_allowed(config: &ClientConfig, topic: &str, group: &str) -> usize {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let consumed = consume_counted(config, topic, group, 4, Duration::from_secs(20)).await;
        if consumed.records == 4 || std::time::Instant::now() > deadline {
            return consumed.records;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

//! Bad input to the transactional API: each a clear error within bounds,
//! never a hang.

use std::time::Duration;

use ch04_transactions::lab::scenes;
use ch04_transactions::lesson::producer::Class;
use tutorial_lab::test_cluster;

fn bootstrap() -> String {
    test_cluster().bootstrap_servers().to_string()
}

#[test]
fn a_transaction_timeout_below_librdkafkas_minimum_is_refused_at_creation() {
    let refusal = scenes::timeout_below_minimum(&bootstrap()).unwrap();
    assert!(
        refusal.error.contains("transaction.timeout.ms"),
        "{refusal:?}"
    );
    assert!(refusal.seconds < 1.0, "{refusal:?}");
}

#[test]
fn a_transaction_timeout_above_the_brokers_maximum_fails_init_transactions() {
    let refusal = scenes::timeout_above_broker_maximum(&bootstrap()).unwrap();
    assert_eq!(refusal.code, "InvalidTransactionTimeout", "{refusal:?}");
    assert_eq!(refusal.flags, "fatal", "{refusal:?}");
    assert_eq!(refusal.class, Some(Class::Fatal), "{refusal:?}");
    assert!(refusal.seconds < 10.0, "{refusal:?}");
}

#[test]
fn commit_without_begin_is_a_state_error_at_once() {
    let refusal = scenes::commit_without_begin(&bootstrap()).unwrap();
    assert_eq!(refusal.code, "State", "{refusal:?}");
    // None of the three flags: librdkafka says to treat it as fatal.
    assert_eq!(refusal.flags, "none", "{refusal:?}");
    assert_eq!(refusal.class, Some(Class::Fatal), "{refusal:?}");
    assert!(refusal.seconds < 1.0, "{refusal:?}");
}

#[tokio::test]
async fn a_transaction_longer_than_its_timeout_is_aborted_by_the_coordinator() {
    let expired = scenes::transaction_outlives_timeout(&test_cluster())
        .await
        .unwrap();
    // The coordinator checks for expired transactions every 10 s by default.
    assert!(expired.aborted_after < 30.0, "{expired:?}");
    // The coordinator bumped the epoch when it aborted: the producer is fenced.
    assert_eq!(expired.commit.code, "Fenced", "{expired:?}");
    assert_eq!(expired.commit.flags, "fatal", "{expired:?}");
    assert!(
        expired.commit.seconds < Duration::from_secs(25).as_secs_f64(),
        "{expired:?}"
    );
    assert_eq!(expired.committed, 0, "{expired:?}");
    assert_eq!(expired.uncommitted, 1, "{expired:?}");
}

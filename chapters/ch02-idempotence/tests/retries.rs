//! Duplicates from retries, on the real broker behind the fault-injecting
//! proxy. The proxy's port is fixed, so these tests take turns.

use ch02_idempotence::{producer_config, trial};
use tokio::sync::Mutex;
use tutorial_support::testing::{test_cluster, unique_name};

static PROXY_PORT: Mutex<()> = Mutex::const_new(());

const RECORDS: usize = 1000;
const FAULTS: u32 = 3;

#[tokio::test]
async fn without_idempotence_a_lost_response_makes_the_retry_write_the_batch_twice() {
    let _turn = PROXY_PORT.lock().await;
    let cluster = test_cluster();
    let (outcome, dropped) = trial(
        cluster.bootstrap_servers(),
        &unique_name("ch02-dup"),
        false,
        RECORDS,
        FAULTS,
    )
    .await
    .unwrap();
    println!("without idempotence: {outcome:?}, responses dropped {dropped}");
    assert_eq!(
        dropped, FAULTS,
        "the proxy swallowed {FAULTS} produce responses"
    );
    assert_eq!(
        outcome.acknowledged, RECORDS,
        "the producer believes each record was written once"
    );
    assert!(
        outcome.duplicates > 0,
        "the retries wrote records again: {outcome:?}"
    );
    assert_eq!(outcome.stored, RECORDS + outcome.duplicates);
}

#[tokio::test]
async fn with_idempotence_lost_responses_cause_no_duplicates_and_order_holds() {
    let _turn = PROXY_PORT.lock().await;
    let cluster = test_cluster();
    let (outcome, dropped) = trial(
        cluster.bootstrap_servers(),
        &unique_name("ch02-idem"),
        true,
        RECORDS,
        FAULTS,
    )
    .await
    .unwrap();
    println!("with idempotence: {outcome:?}, responses dropped {dropped}");
    assert_eq!(dropped, FAULTS, "the same faults were injected");
    assert_eq!(outcome.acknowledged, RECORDS);
    assert_eq!(outcome.duplicates, 0, "{outcome:?}");
    assert_eq!(outcome.stored, RECORDS);
    assert!(outcome.order_kept, "the records are stored in send order");
}

/// Idempotence needs acks=all; asking for both idempotence and acks=1 is
/// refused when the client is created, not silently adjusted.
#[test]
fn idempotence_with_acks_1_is_refused_when_the_producer_is_created() {
    let mut config = producer_config("localhost:9092", true);
    config.set("acks", "1");
    let error = config
        .create::<rdkafka::producer::FutureProducer>()
        .err()
        .expect("an incompatible setting must fail");
    let text = error.to_string();
    assert!(
        text.contains("acks") && text.contains("idempotence"),
        "{text}"
    );
}

//! Duplicates from retries, on a real Apache Kafka broker behind the
//! fault-injecting proxy (`KAFKA_BROKERS`, default localhost:9092, started by
//! `cargo xtask kafka up`, whose PROXIED listener the proxy forwards to).
//!
//! The proxy's port is fixed (the listener advertises it), so the tests in
//! this file take turns; cargo runs test binaries one after another, so no
//! other file's tests compete for it.

use std::time::Duration;

use ch02_idempotence::lab::kafka_go::kafka_go_trial;
use ch02_idempotence::lab::proxy::Fate;
use ch02_idempotence::lab::proxy::ProxyReport;
use ch02_idempotence::lab::{
    Outcome, Plan, Route, SlowPlan, check_proxied_listener, delete_topic, max_in_flight, trial,
};
use tokio::sync::{Mutex, MutexGuard, OnceCell};
use tutorial_lab::testing::{test_cluster, unique_name, within};

static PROXY_PORT: Mutex<()> = Mutex::const_new(());

const RECORDS: usize = 3000;
const PARTITIONS: i32 = 3;
const FAULTS: u32 = 3;
const LIMIT: Duration = Duration::from_secs(90);

/// A real broker with the PROXIED listener, and the proxy port to ourselves.
async fn proxied_broker() -> (String, MutexGuard<'static, ()>) {
    let turn = PROXY_PORT.lock().await;
    let cluster = test_cluster();
    if let Err(error) = check_proxied_listener(&Route::default()).await {
        panic!("these tests need the broker's PROXIED listener: {error:#}");
    }
    (cluster.bootstrap_servers().to_string(), turn)
}

/// One run of [`trial`] on a fresh topic, deleted afterwards.
async fn run(idempotent: bool, faults: u32) -> Outcome {
    let (bootstrap, _turn) = proxied_broker().await;
    let topic = unique_name(if idempotent { "ch02-idem" } else { "ch02-dup" });
    let plan = Plan {
        idempotent,
        records: RECORDS,
        partitions: PARTITIONS,
        faults,
    };
    let outcome = within(
        LIMIT,
        "a run through the proxy",
        trial(&bootstrap, &Route::default(), &topic, plan),
    )
    .await;
    let _ = delete_topic(&bootstrap, &topic).await;
    let outcome = outcome.unwrap_or_else(|e| panic!("{e:#}"));
    println!(
        "enable.idempotence={idempotent}, {faults} fault(s): {:?}\n  {:?}\n  withheld {}, connections {}, produce requests {}",
        outcome.sent,
        outcome.audit,
        outcome.proxy.withheld,
        outcome.proxy.connections,
        outcome.proxy.produce_requests()
    );
    for batch in &outcome.retried {
        println!("  {batch:?}");
    }
    outcome
}

// Two of the runs are each examined by two tests; run each once.
static PLAIN: OnceCell<Outcome> = OnceCell::const_new();
static IDEMPOTENT: OnceCell<Outcome> = OnceCell::const_new();

async fn plain() -> &'static Outcome {
    PLAIN.get_or_init(|| run(false, FAULTS)).await
}

async fn idempotent() -> &'static Outcome {
    IDEMPOTENT.get_or_init(|| run(true, FAULTS)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn with_no_faults_the_proxy_is_transparent_and_nothing_is_duplicated() {
    let o = run(false, 0).await;
    assert_eq!(o.proxy.withheld, 0);
    assert!(
        o.proxy.exchanges.iter().all(|e| e.fate == Fate::Relayed),
        "every answer relayed"
    );
    assert_eq!(o.sent.acknowledged, RECORDS);
    assert_eq!(o.audit.duplicates, 0, "{:?}", o.audit);
    assert!(o.audit.exact, "{:?}", o.audit);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_withholds_exactly_the_requested_number_of_successful_answers() {
    let o = plain().await;
    assert_eq!(o.proxy.withheld, FAULTS);
    let withheld: Vec<_> = o.proxy.with_fate(Fate::Withheld).collect();
    assert_eq!(withheld.len(), FAULTS as usize);
    for e in &withheld {
        let response = e.response.expect("the broker's answer was read");
        assert_eq!(
            response.error_code, 0,
            "only successful writes are withheld"
        );
        assert!(response.base_offset >= 0);
        let request = e.request.as_ref().expect("the request was read");
        assert_eq!(request.partition, response.partition);
        assert_eq!(request.acks, -1, "acks=all on the wire");
    }
    // Each fault cut its connection, so each happened on a different one,
    // and the producer had to connect again after each.
    let mut connections: Vec<u32> = withheld.iter().map(|e| e.connection).collect();
    connections.dedup();
    assert_eq!(connections.len(), FAULTS as usize, "{connections:?}");
    assert!(o.proxy.connections > FAULTS, "{}", o.proxy.connections);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_idempotence_each_withheld_answer_makes_the_retry_store_the_batch_again() {
    let o = plain().await;
    assert_eq!(o.proxy.withheld, FAULTS);
    assert_eq!(
        (o.sent.acknowledged, o.sent.failed),
        (RECORDS, 0),
        "the producer was told every record was stored, once"
    );
    assert_eq!(o.audit.missing, 0, "nothing lost: {:?}", o.audit);
    assert!(o.audit.duplicates > 0, "duplicates stored: {:?}", o.audit);
    assert_eq!(o.audit.stored, RECORDS + o.audit.duplicates);
    assert!(!o.retried.is_empty());
    let mut copies_from_retries = 0;
    for batch in &o.retried {
        let offsets: Vec<i64> = batch.attempts.iter().filter_map(|a| a.stored_at).collect();
        assert!(offsets.len() >= 2, "written, then retried: {batch:?}");
        let mut distinct = offsets.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            offsets.len(),
            "every attempt was appended at a new offset: {batch:?}"
        );
        assert!(
            batch
                .attempts
                .iter()
                .all(|a| a.producer_id == -1 && a.base_sequence == -1),
            "no producer id, no sequence: {batch:?}"
        );
        assert_eq!(batch.attempts.last().map(|a| a.fate), Some(Fate::Relayed));
        copies_from_retries += (offsets.len() - 1) * batch.attempts[0].records as usize;
    }
    assert!(
        o.audit.duplicates >= copies_from_retries,
        "{} duplicates, {copies_from_retries} from the retried batches alone",
        o.audit.duplicates
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_idempotence_the_same_faults_store_each_record_once_in_send_order() {
    let o = idempotent().await;
    assert_eq!(o.proxy.withheld, FAULTS, "the same faults were injected");
    assert_eq!((o.sent.acknowledged, o.sent.failed), (RECORDS, 0));
    assert_eq!(o.audit.duplicates, 0, "{:?}", o.audit);
    assert_eq!(o.audit.stored, RECORDS);
    assert!(
        o.audit.exact,
        "every partition holds its records once each, in send order: {:?}",
        o.audit
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_idempotence_a_retry_repeats_producer_id_epoch_and_sequence_and_gets_the_first_offset()
{
    let o = idempotent().await;
    assert!(!o.retried.is_empty());
    for batch in &o.retried {
        let first = &batch.attempts[0];
        assert!(first.producer_id >= 0, "a producer id: {batch:?}");
        assert!(first.base_sequence >= 0, "a sequence number: {batch:?}");
        assert!(batch.attempts.len() >= 2, "retried: {batch:?}");
        for a in &batch.attempts {
            assert_eq!(
                (a.producer_id, a.producer_epoch, a.base_sequence, a.records),
                (
                    first.producer_id,
                    first.producer_epoch,
                    first.base_sequence,
                    first.records
                ),
                "the retry is the same batch: {batch:?}"
            );
        }
        let offsets: Vec<i64> = batch.attempts.iter().filter_map(|a| a.stored_at).collect();
        assert!(offsets.len() >= 2, "{batch:?}");
        assert!(
            offsets.iter().all(|o| *o == offsets[0]),
            "every answer names the offset of the first copy: {batch:?}"
        );
        assert_eq!(batch.attempts.last().map(|a| a.fate), Some(Fate::Relayed));
    }
}

/// One slow-broker run (every answer held 20 ms) on a fresh topic.
async fn slow(idempotent: bool, partitions: i32, batch: usize) -> ProxyReport {
    let (bootstrap, _turn) = proxied_broker().await;
    let topic = unique_name("ch02-in-flight");
    let plan = SlowPlan {
        idempotent,
        partitions,
        batch,
        requests_per_partition: 30,
        delay: Duration::from_millis(20),
    };
    let report = within(
        LIMIT,
        "the slow-broker run",
        max_in_flight(&bootstrap, &Route::default(), &topic, plan),
    )
    .await;
    let _ = delete_topic(&bootstrap, &topic).await;
    let report = report.unwrap_or_else(|e| panic!("{e:#}"));
    println!(
        "enable.idempotence={idempotent}, {partitions} partition(s), batches of {batch}: \
         records per request {:?}, at most {} in flight per partition, {} on the connection, \
         of {} requests",
        report.records_per_request(),
        report.max_in_flight_per_partition,
        report.max_in_flight,
        report.produce_requests()
    );
    // The runs are only comparable if the batches are the planned size.
    let expected = i32::try_from(batch).unwrap();
    assert_eq!(
        report.records_per_request(),
        Some((expected, expected)),
        "every request carries batch.num.messages records"
    );
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotent_producer_waits_for_each_answer_the_default_keeps_sending() {
    let plain = slow(false, 1, 10).await;
    assert!(
        plain.max_in_flight > 5,
        "without idempotence the default (1000000 per connection) lets every request go: {}",
        plain.max_in_flight
    );
    // Batches of 10: after one request a partition has 10 records in
    // flight, not fewer than 5, so it waits for the answer.
    let idempotent = slow(true, 1, 10).await;
    assert_eq!(idempotent.max_in_flight_per_partition, 1);
    assert_eq!(idempotent.max_in_flight, 1);
}

/// librdkafka 2.12 (`rdkafka_broker.c`, `rd_kafka_toppar_producer_serve`):
/// an idempotent partition may start another Produce request only while it
/// has fewer than 5 (`RD_KAFKA_IDEMP_MAX_INFLIGHT`) *records* in flight. With
/// `batch` records per request that allows ceil(5 / batch) requests.
#[tokio::test(flavor = "multi_thread")]
async fn an_idempotent_partition_starts_another_request_only_while_fewer_than_5_records_are_in_flight()
 {
    let mut seen = Vec::new();
    for (batch, expected) in [(1, 5), (2, 3), (4, 2), (5, 1)] {
        let report = slow(true, 1, batch).await;
        seen.push((batch, report.max_in_flight_per_partition, expected));
    }
    for &(batch, measured, expected) in &seen {
        assert_eq!(
            measured, expected,
            "batches of {batch}: (batch, measured, expected) {seen:?}"
        );
    }
}

/// The limit is per partition: partitions of one broker share a connection
/// and still have a request each on it.
#[tokio::test(flavor = "multi_thread")]
async fn several_partitions_of_an_idempotent_producer_pipeline_on_one_connection() {
    let report = slow(true, 3, 10).await;
    assert_eq!(report.max_in_flight_per_partition, 1);
    assert_eq!(
        report.max_in_flight, 3,
        "one request per partition, all three on the connection at once"
    );
}

/// kafka-go's `Writer` has no idempotence to turn on; this is what its
/// retries do with the same faults. Needs Go (`go` on the PATH).
#[tokio::test(flavor = "multi_thread")]
async fn a_kafka_go_writer_retries_after_a_withheld_answer_and_stores_the_batch_again() {
    let (bootstrap, _turn) = proxied_broker().await;
    let topic = unique_name("ch02-kafka-go");
    let plan = Plan {
        idempotent: false,
        records: RECORDS,
        partitions: PARTITIONS,
        faults: FAULTS,
    };
    let outcome = within(
        Duration::from_secs(240),
        "the kafka-go run (the first one compiles kafka-go)",
        kafka_go_trial(&bootstrap, &Route::default(), &topic, plan),
    )
    .await;
    let _ = delete_topic(&bootstrap, &topic).await;
    let o = outcome.unwrap_or_else(|e| panic!("{e:#}"));
    println!(
        "kafka-go: {:?}\n  {:?}\n  withheld {}, connections {}",
        o.output, o.audit, o.proxy.withheld, o.proxy.connections
    );
    for batch in &o.retried {
        println!("  {batch:?}");
    }
    assert!(o.succeeded, "WriteMessages reported success: {}", o.output);
    assert_eq!(o.proxy.withheld, FAULTS);
    assert_eq!(o.audit.missing, 0, "{:?}", o.audit);
    assert!(o.audit.duplicates > 0, "duplicates stored: {:?}", o.audit);
    assert!(!o.retried.is_empty());
    for batch in &o.retried {
        assert!(
            batch.attempts.iter().all(|a| a.producer_id == -1),
            "kafka-go sends no producer id: {batch:?}"
        );
        let offsets: Vec<i64> = batch.attempts.iter().filter_map(|a| a.stored_at).collect();
        assert!(offsets.len() >= 2, "written, then retried: {batch:?}");
        assert!(
            offsets.windows(2).all(|w| w[0] != w[1]),
            "each attempt stored again: {batch:?}"
        );
    }
}

//! MOCK CLUSTER: this file deliberately uses librdkafka's in-process mock
//! cluster, not Apache Kafka. It proves a claim about the mock itself — why
//! the chapter needs a real broker behind a proxy to show duplicates.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{ClientConfig, ClientContext};

const RECORDS: usize = 100;

/// Quiet: the injected errors are the point of the test.
struct Quiet;
impl ClientContext for Quiet {
    fn error(&self, _: rdkafka::error::KafkaError, _: &str) {}
}

/// Sends `RECORDS` records to partition 0 and returns (acknowledged, first error).
async fn send(bootstrap: &str, topic: &str, retries: &str) -> (usize, Option<String>) {
    let producer: FutureProducer<Quiet> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "false")
        .set("retries", retries)
        .set("retry.backoff.ms", "10")
        .set("message.timeout.ms", "10000")
        .create_with_context(Quiet)
        .expect("producer");
    let payloads: Vec<String> = (0..RECORDS).map(|n| n.to_string()).collect();
    let sends = payloads.iter().map(|p| {
        producer.send(
            FutureRecord::<(), _>::to(topic).partition(0).payload(p),
            Duration::from_secs(10),
        )
    });
    let results = tokio::time::timeout(Duration::from_secs(20), futures::future::join_all(sends))
        .await
        .expect("delivery reports within 20 s");
    let acknowledged = results.iter().filter(|r| r.is_ok()).count();
    let error = results
        .iter()
        .find_map(|r| r.as_ref().err().map(|(e, _)| e.to_string()));
    (acknowledged, error)
}

fn stored(bootstrap: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ch02-idempotence-mock")
        .create()
        .expect("consumer");
    let (low, high) = consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(10))
        .expect("watermarks from the mock");
    high - low
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_mock_cluster_an_injected_produce_error_replaces_the_write_so_a_retry_duplicates_nothing()
 {
    let mock = MockCluster::new(1).expect("mock cluster");
    let bootstrap = mock.bootstrap_servers();
    // NOT_ENOUGH_REPLICAS_AFTER_APPEND is the error that, from a real
    // broker, means "written, but not replicated enough": librdkafka treats
    // the batch as possibly stored and retries it.
    let error = RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;

    // Control: with one retry fewer than injected errors, the error reaches
    // the application, so each of the three attempts really got one.
    mock.create_topic("control", 1, 1).expect("topic");
    mock.request_errors(RDKafkaApiKey::Produce, &[error, error, error]);
    let (acknowledged, first_error) = send(&bootstrap, "control", "2").await;
    println!("retries=2: {acknowledged} acknowledged, error {first_error:?}");
    assert_eq!(acknowledged, 0);
    assert!(
        first_error
            .as_deref()
            .is_some_and(|e| e.contains("NotEnoughReplicasAfterAppend")),
        "{first_error:?}"
    );
    mock.clear_request_errors(RDKafkaApiKey::Produce);

    // With enough retries: three injected errors, then success. From a real
    // broker each of those answers would follow a write; on the mock none did.
    mock.create_topic("retried", 1, 1).expect("topic");
    mock.request_errors(RDKafkaApiKey::Produce, &[error, error, error]);
    let (acknowledged, first_error) = send(&bootstrap, "retried", "3").await;
    assert_eq!((acknowledged, first_error), (RECORDS, None));
    let count = stored(&bootstrap, "retried");
    println!("retried 3 times on the mock: {count} stored of {RECORDS}");
    assert_eq!(count, RECORDS as i64, "the mock stored each record once");
}

//! Chapter 四 (errors): claims proven on a real broker.

use std::time::{Duration, Instant};

use ch04_error_handling::lesson::classify::{
    Strategy, classify, enqueue, producer_config, send_to,
};
use ch04_error_handling::lesson::dead_letter::{consume_with_dlq, consumer, dlq_headers, header};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tutorial_lab::testing::{TestTopic, committed_offset, read_all, test_cluster, unique_name};
use tutorial_support::topics::ensure_topic;

#[test]
fn errors_are_classified_by_what_retrying_can_do() {
    let e = |code| KafkaError::MessageProduction(code);
    assert_eq!(classify(&e(RDKafkaErrorCode::QueueFull)), Strategy::BackOff);
    assert_eq!(
        classify(&e(RDKafkaErrorCode::NotEnoughReplicas)),
        Strategy::LibrdkafkaRetries
    );
    assert_eq!(
        classify(&e(RDKafkaErrorCode::AllBrokersDown)),
        Strategy::LibrdkafkaRetries
    );
    assert_eq!(
        classify(&e(RDKafkaErrorCode::MessageSizeTooLarge)),
        Strategy::FailFast
    );
    assert_eq!(
        classify(&e(RDKafkaErrorCode::UnknownTopicOrPartition)),
        Strategy::FailFast
    );
    assert_eq!(
        classify(&e(RDKafkaErrorCode::TopicAuthorizationFailed)),
        Strategy::FailFast
    );
    assert_eq!(classify(&e(RDKafkaErrorCode::Fatal)), Strategy::Recreate);
    assert_eq!(
        classify(&e(RDKafkaErrorCode::MessageTimedOut)),
        Strategy::RetriesExhausted
    );
}

#[tokio::test]
async fn an_unknown_topic_with_default_settings_surfaces_only_as_a_timeout() {
    let cluster = test_cluster();
    let started = Instant::now();
    let error = send_to(
        cluster.bootstrap_servers(),
        &unique_name("no-such-topic"),
        5000,
        None,
    )
    .await
    .expect_err("auto-creation is off: the record cannot be delivered");
    let waited = started.elapsed();
    println!("unknown topic, defaults: {error} after {waited:?}");
    assert!(
        waited < Duration::from_secs(15),
        "bounded by message.timeout.ms: {waited:?}"
    );
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageTimedOut),
        "{error}"
    );
}

#[tokio::test]
async fn a_short_metadata_propagation_wait_names_the_unknown_topic() {
    let cluster = test_cluster();
    let started = Instant::now();
    let error = send_to(
        cluster.bootstrap_servers(),
        &unique_name("no-such-topic"),
        10_000,
        Some(2000),
    )
    .await
    .expect_err("auto-creation is off");
    println!(
        "unknown topic, propagation 2 s: {error} after {:?}",
        started.elapsed()
    );
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::UnknownTopicOrPartition),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(classify(&error), Strategy::FailFast);
}

#[tokio::test]
async fn an_oversized_record_fails_alone_as_fail_fast_and_its_neighbours_are_stored() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-size", 1, 1).await;
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers(), 30_000)
        .create()
        .unwrap();
    // message.max.bytes defaults to 1000000: librdkafka refuses a 2 MB
    // value itself, before anything reaches the broker.
    let big = vec![b'x'; 2_000_000];
    let sizes: [&[u8]; 3] = [b"before", &big, b"after"];
    let mut outcomes = Vec::new();
    for payload in sizes {
        let record = FutureRecord::<(), _>::to(&topic.name).payload(payload);
        outcomes.push(producer.send(record, Duration::from_secs(10)).await);
    }
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
    let (error, _) = outcomes[1].as_ref().expect_err("2 MB is over the limit");
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge)
    );
    assert_eq!(classify(error), Strategy::FailFast);
    let stored = read_all(&cluster, &topic.name, 2, Duration::from_secs(30)).await;
    let payloads: Vec<&str> = stored.iter().map(|r| r.payload.as_str()).collect();
    assert_eq!(payloads, ["before", "after"]);
}

#[tokio::test]
async fn poison_records_go_to_the_dead_letter_topic_and_the_rest_are_processed_once() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "ch04-orders", 1, 1).await;
    let dlq = format!("{}.dlq", topic.name);
    ensure_topic(&cluster, &dlq, 1, 1, &[]).await.unwrap();
    let producer: FutureProducer = producer_config(bootstrap, 30_000).create().unwrap();
    for i in 0..20 {
        let payload = if i == 5 || i == 12 {
            format!("poison-{i}")
        } else {
            i.to_string()
        };
        producer
            .send(
                FutureRecord::<(), _>::to(&topic.name).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    let group = unique_name("ch04-dlq");
    let consumer = consumer(bootstrap, &topic.name, &group).unwrap();
    let mut seen = Vec::new();
    let report = consume_with_dlq(&consumer, &producer, 20, 3, |payload| {
        let n: u32 = std::str::from_utf8(payload)?.parse()?;
        seen.push(n);
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(report.dead_lettered, vec![5, 12]);
    assert_eq!(report.processed.len(), 18);
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 18, "every good record processed once");

    let dlq_reader = consumer_records(bootstrap, &dlq).await;
    for (message, original) in dlq_reader.iter().zip([5, 12]) {
        assert_eq!(
            header(message, dlq_headers::TOPIC).as_deref(),
            Some(topic.name.as_str())
        );
        assert_eq!(
            header(message, dlq_headers::PARTITION).as_deref(),
            Some("0")
        );
        assert_eq!(
            header(message, dlq_headers::OFFSET),
            Some(original.to_string())
        );
        assert_eq!(header(message, dlq_headers::ATTEMPTS).as_deref(), Some("3"));
        assert!(
            header(message, dlq_headers::ERROR)
                .unwrap()
                .contains("invalid digit")
        );
        assert!(header(message, dlq_headers::FAILED_AT).is_some());
    }
    drop(consumer);
    let committed = committed_offset(bootstrap, &topic.name, &group);
    assert_eq!(
        committed,
        Some(20),
        "the group moved past the poison records"
    );
}

async fn consumer_records(bootstrap: &str, topic: &str) -> Vec<rdkafka::message::OwnedMessage> {
    use rdkafka::Message;
    let consumer = consumer(bootstrap, topic, &unique_name("ch04-dlq-reader")).unwrap();
    let mut out = Vec::new();
    while out.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
            .await
            .expect("dead letters arrive")
            .unwrap();
        let _ = message.offset();
        out.push(message.detach());
    }
    out
}

/// `enqueue` waits out a full local queue — the record goes in once the
/// broker's acknowledgements make room — and every record is stored.
#[tokio::test]
async fn a_full_queue_is_waited_out_and_every_record_is_stored() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-queue", 1, 1).await;
    let mut config = producer_config(cluster.bootstrap_servers(), 30_000);
    // Room for one record: every next record meets QueueFull until the
    // previous one was acknowledged.
    config.set("queue.buffering.max.messages", "1");
    let producer: FutureProducer = config.create().unwrap();
    let payloads: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    let mut deliveries = Vec::new();
    for payload in &payloads {
        let record = FutureRecord::<(), _>::to(&topic.name).payload(payload);
        deliveries.push(
            enqueue(&producer, record, Duration::from_secs(10))
                .await
                .expect("QueueFull is waited out"),
        );
    }
    for delivery in deliveries {
        delivery.await.unwrap().map_err(|(e, _)| e).unwrap();
    }
    let stored = read_all(&cluster, &topic.name, 20, Duration::from_secs(30)).await;
    let stored: Vec<&str> = stored.iter().map(|r| r.payload.as_str()).collect();
    assert_eq!(stored, payloads, "all 20, in order");
}

/// Without a broker the queue never drains: `enqueue` gives up after the
/// wait it was given and returns QueueFull (BackOff). An error waiting
/// cannot fix — an oversized record — comes back at once, not after the wait.
#[tokio::test]
async fn enqueue_waits_only_on_queue_full_and_only_as_long_as_it_was_told() {
    let mut config = producer_config("localhost:1", 30_000);
    config.set("queue.buffering.max.messages", "1");
    let producer: FutureProducer = config.create().unwrap();
    let first = FutureRecord::<(), _>::to("nowhere").payload("first");
    let _queued = enqueue(&producer, first, Duration::ZERO)
        .await
        .expect("the first record fits");

    let wait = Duration::from_millis(500);
    let started = Instant::now();
    let second = FutureRecord::<(), _>::to("nowhere").payload("second");
    let error = enqueue(&producer, second, wait)
        .await
        .map(|_| ())
        .expect_err("the queue stays full");
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::QueueFull)
    );
    assert_eq!(classify(&error), Strategy::BackOff);
    assert!(started.elapsed() >= wait, "waited {:?}", started.elapsed());

    let big = vec![b'x'; 2_000_000];
    let started = Instant::now();
    let oversized = FutureRecord::<(), _>::to("nowhere").payload(&big);
    let error = enqueue(&producer, oversized, Duration::from_secs(30))
        .await
        .map(|_| ())
        .expect_err("2 MB is over message.max.bytes");
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge)
    );
    assert_eq!(classify(&error), Strategy::FailFast);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "returned at once, not after the 30 s wait: {:?}",
        started.elapsed()
    );
}

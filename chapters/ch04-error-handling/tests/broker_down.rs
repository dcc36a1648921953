//! Every broker out of reach, as a client sees it. The broker keeps running
//! for everybody else: the clients here connect through a relay in front of
//! its `PROXIED` listener (`cargo xtask kafka up` provides it on 9192,
//! advertising 9292), and the test cuts that relay. The relay's port is
//! fixed, so the tests in this binary take turns.

use std::time::{Duration, Instant};

use ch04_error_handling::lab::link::{self, proxied_address, relay_address};
use ch04_error_handling::lab::outage::watch_outage;
use ch04_error_handling::lesson::classify::{Strategy, classify};
use ch04_error_handling::lesson::shutdown::{Closed, close_within};
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::sync::Mutex;
use tutorial_lab::relay::Relay;
use tutorial_lab::testing::{TestTopic, produce, test_cluster, unique_name, within};

static ONE_RELAY: Mutex<()> = Mutex::const_new(());

async fn relay() -> Relay {
    link::start().await.unwrap_or_else(|e| {
        panic!(
            "cannot relay {} → {} ({e}); start the broker with `cargo xtask kafka up`",
            relay_address(),
            proxied_address()
        )
    })
}

/// A topic with `0..count` on one partition.
async fn numbered_topic(count: usize) -> TestTopic {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-down", 1, 1).await;
    let records = (0..count).map(|i| (None, i.to_string()));
    produce(&cluster, &topic.name, records).await;
    topic
}

/// A group member behind the relay that commits only when told to.
fn member(topic: &str, group: &str, session_timeout_ms: u32) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", relay_address())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", session_timeout_ms.to_string())
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    consumer
}

/// Processes `count` records: stores each offset after "processing", commits
/// synchronously after the record at `commit_at`. Returns the last offset.
async fn process(consumer: &StreamConsumer, count: usize, commit_at: Option<usize>) -> i64 {
    let mut last = -1;
    for i in 0..count {
        let message = within(Duration::from_secs(30), "a record", consumer.recv())
            .await
            .unwrap();
        consumer.store_offset_from_message(&message).unwrap();
        if Some(i) == commit_at {
            consumer.commit_message(&message, CommitMode::Sync).unwrap();
        }
        last = message.offset();
    }
    last
}

/// The offset a fresh member of `group` starts from. It connects to the
/// broker directly, not through the relay.
async fn first_offset_for(topic: &str, group: &str) -> i64 {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", test_cluster().bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let message = within(Duration::from_secs(60), "a record", consumer.recv())
        .await
        .unwrap();
    message.offset()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_brokers_are_unreachable_a_consumer_drains_what_it_fetched_then_gets_retriable_errors_and_resumes()
 {
    let _turn = ONE_RELAY.lock().await;
    let topic = numbered_topic(100).await;
    let mut link = relay().await;
    let consumer = member(&topic.name, &unique_name("ch04-down"), 45_000);
    assert_eq!(process(&consumer, 60, Some(39)).await, 59);

    link.cut();
    let view = watch_outage(&consumer, Duration::from_secs(4)).await;
    println!("during the outage: {view:?}");
    assert_eq!(
        view.records, 40,
        "the records already fetched (60..=99) still arrive, nothing more"
    );
    assert!(
        view.errors.iter().any(|code| matches!(
            code,
            RDKafkaErrorCode::AllBrokersDown | RDKafkaErrorCode::BrokerTransportFailure
        )),
        "the outage is reported through recv(): {view:?}"
    );
    for code in &view.errors {
        let strategy = classify(&KafkaError::MessageConsumption(*code));
        assert_eq!(strategy, Strategy::LibrdkafkaRetries, "{code:?}");
    }

    link.restore().await.unwrap();
    let cluster = test_cluster();
    produce(&cluster, &topic.name, [(None, "100".to_string())]).await;
    let next = within(
        Duration::from_secs(60),
        "a record after the outage",
        async {
            loop {
                if let Ok(message) = consumer.recv().await {
                    return message.offset();
                }
            }
        },
    )
    .await;
    assert_eq!(next, 100, "the consumer goes on where it was");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_sync_commit_waits_for_the_unreachable_coordinator_and_completes_only_when_it_returns()
 {
    let _turn = ONE_RELAY.lock().await;
    let topic = numbered_topic(30).await;
    let group = unique_name("ch04-down");
    let mut link = relay().await;
    let consumer = member(&topic.name, &group, 45_000);
    assert_eq!(process(&consumer, 20, None).await, 19);

    link.cut();
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(consumer.commit_consumer_state(CommitMode::Sync));
    });
    let early = result.recv_timeout(Duration::from_secs(10));
    println!("after 10 s with the link cut: {early:?}");
    assert!(early.is_err(), "still blocked after 10 s, got {early:?}");

    link.restore().await.unwrap();
    let late = tokio::task::spawn_blocking(move || result.recv_timeout(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(
        matches!(late, Ok(Ok(()))),
        "completed once the coordinator was back: {late:?}"
    );
    assert_eq!(first_offset_for(&topic.name, &group).await, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bounded_shutdown_returns_in_time_and_uncommitted_work_is_delivered_again_not_lost() {
    let _turn = ONE_RELAY.lock().await;
    let topic = numbered_topic(100).await;
    let group = unique_name("ch04-down");
    let mut link = relay().await;
    let consumer = member(&topic.name, &group, 6_000);
    // Offsets 0..=39 committed; 40..=59 processed but not yet committed.
    assert_eq!(process(&consumer, 60, Some(39)).await, 59);

    link.cut();
    let started = Instant::now();
    let closed = close_within(consumer, Duration::from_secs(2)).await;
    let took = started.elapsed();
    println!("close_within(2 s) returned after {took:.1?}: {closed:?}");
    assert!(took < Duration::from_secs(4), "bounded: {took:?}");
    // Usually `GaveUp`: librdkafka has noticed the cut, so the commit waits
    // for a coordinator. If the commit request was already on its way down
    // the dying connection, its retries fail too (`_TRANSPORT`,
    // rd_kafka_handle_OffsetCommit) and it ends as `CommitFailed` within
    // the limit. Either way nothing was confirmed.
    assert!(
        matches!(closed, Closed::GaveUp { .. } | Closed::CommitFailed(_)),
        "no coordinator: the commit cannot be confirmed, got {closed:?}"
    );
    // The link stays cut for the old member (its commit never gets through);
    // a new member connects directly once the old one's session (6 s) expired.
    assert_eq!(
        first_offset_for(&topic.name, &group).await,
        40,
        "the group restarts after the last confirmed commit: 40..=59 again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_link_restored_the_same_bounded_shutdown_commits_everything_processed() {
    let _turn = ONE_RELAY.lock().await;
    let topic = numbered_topic(100).await;
    let group = unique_name("ch04-down");
    let _link = relay().await;
    let consumer = member(&topic.name, &group, 6_000);
    assert_eq!(process(&consumer, 60, Some(39)).await, 59);
    let closed = close_within(consumer, Duration::from_secs(10)).await;
    assert!(matches!(closed, Closed::Committed), "{closed:?}");
    assert_eq!(first_offset_for(&topic.name, &group).await, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_brokers_are_unreachable_records_wait_in_the_queue_then_fail_with_message_timed_out()
 {
    let _turn = ONE_RELAY.lock().await;
    let topic = numbered_topic(0).await;
    let mut link = relay().await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", relay_address())
        .set("message.timeout.ms", "3000")
        .create()
        .unwrap();
    // Connected and the topic known: the outage starts mid-run.
    producer
        .send(
            FutureRecord::<(), _>::to(&topic.name).payload("before"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    link.cut();

    let started = Instant::now();
    let sends = (0..50).map(|i| {
        let payload = i.to_string();
        let producer = producer.clone();
        let topic = topic.name.clone();
        async move {
            let record = FutureRecord::<(), _>::to(&topic).payload(&payload);
            producer
                .send(record, Duration::from_secs(0))
                .await
                .map(|_| ())
        }
    });
    // While the link is down the records sit in librdkafka's queue...
    let queued = tokio::spawn(futures::future::join_all(sends));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        producer.in_flight_count() >= 50,
        "queued: {}",
        producer.in_flight_count()
    );
    // ...a bounded flush says so instead of hanging (flush blocks its
    // thread, so it runs off the async runtime)...
    let flushing = producer.clone();
    let flushed = tokio::task::spawn_blocking(move || flushing.flush(Duration::from_millis(500)))
        .await
        .unwrap();
    assert!(
        matches!(
            flushed,
            Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut))
        ),
        "{flushed:?}"
    );
    // ...and each fails only once message.timeout.ms has passed.
    let results = within(Duration::from_secs(30), "the delivery reports", queued)
        .await
        .unwrap();
    let took = started.elapsed();
    println!("50 records failed after {took:.1?}");
    assert!(
        took >= Duration::from_millis(2500),
        "not before the timeout: {took:?}"
    );
    for result in results {
        let (error, _) = result.expect_err("no broker, no delivery");
        assert_eq!(
            error.rdkafka_error_code(),
            Some(RDKafkaErrorCode::MessageTimedOut)
        );
        assert_eq!(classify(&error), Strategy::RetriesExhausted);
    }
    link.restore().await.unwrap();
}

//! A rust-rdkafka detail the page warns about: `BaseProducer::poll(t)`
//! serves delivery reports until `t` has passed — it does not return after
//! the first one — and `flush` polls in 100 ms steps. These are lower
//! bounds (a slow machine only makes them larger), not performance claims.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use tutorial_support::testing::{TestTopic, test_cluster};

#[derive(Default)]
struct Count(AtomicUsize);
impl ClientContext for Count {}
impl ProducerContext for Count {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        assert!(result.is_ok(), "delivery failed");
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn producer(bootstrap: &str) -> BaseProducer<Count> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "0")
        .create_with_context(Count::default())
        .unwrap()
}

#[tokio::test]
async fn base_producer_poll_waits_the_whole_timeout_even_after_the_report_arrived() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-poll", 1, 1).await;
    let producer = producer(cluster.bootstrap_servers());
    producer
        .send(BaseRecord::<(), str>::to(&topic.name).payload("x"))
        .map_err(|(e, _)| e)
        .unwrap();
    // Wait for the report with short polls, then one long poll with nothing to serve.
    let deadline = Instant::now() + Duration::from_secs(30);
    while producer.context().0.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "no delivery report within 30 s");
        producer.poll(Duration::from_millis(1));
    }
    let started = Instant::now();
    producer.poll(Duration::from_millis(400));
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "poll(400 ms) returned after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn flush_of_one_record_takes_at_least_one_100_ms_poll_step() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-flush", 1, 1).await;
    let producer = producer(cluster.bootstrap_servers());
    // Metadata first, so the record is sendable at once.
    producer
        .client()
        .fetch_metadata(Some(&topic.name), Duration::from_secs(10))
        .unwrap();
    producer
        .send(BaseRecord::<(), str>::to(&topic.name).payload("x"))
        .map_err(|(e, _)| e)
        .unwrap();
    let started = Instant::now();
    producer.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(producer.context().0.load(Ordering::SeqCst), 1);
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "flush returned after {:?}",
        started.elapsed()
    );
}

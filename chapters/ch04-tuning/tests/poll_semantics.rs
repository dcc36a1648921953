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
use tutorial_lab::testing::{TestTopic, test_cluster};

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

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_THREAD).unwrap();
    let micros = |tv: nix::sys::time::TimeVal| tv.tv_sec() as u64 * 1_000_000 + tv.tv_usec() as u64;
    Duration::from_micros(micros(usage.user_time()) + micros(usage.system_time()))
}

/// rust-rdkafka hands librdkafka whole milliseconds (`as_millis`), so with
/// less than 1 ms left `poll` asks for 0 ms and loops until its deadline:
/// `poll(1 ms)` on an idle producer is a busy loop. 200 of them burn CPU
/// time close to their 200 ms of wall time; 200 sleeps of 1 ms burn almost
/// none. Only the spinning can pass the 40 ms threshold.
#[test]
fn polling_for_one_millisecond_is_a_busy_loop() {
    let cluster = test_cluster();
    let producer = producer(cluster.bootstrap_servers());
    let before = thread_cpu();
    for _ in 0..200 {
        producer.poll(Duration::from_millis(1));
    }
    let polling = thread_cpu() - before;
    let before = thread_cpu();
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(1));
    }
    let sleeping = thread_cpu() - before;
    eprintln!("200 × poll(1 ms): {polling:?} of CPU; 200 × sleep(1 ms): {sleeping:?}");
    assert!(
        polling >= Duration::from_millis(40) && polling > sleeping * 4,
        "200 × poll(1 ms) used {polling:?} of CPU, 200 × sleep(1 ms) {sleeping:?}"
    );
}

//! When the statistics callback runs: at the interval with the consumer
//! loop the page recommends; never, while nobody polls; all at once when
//! polling resumes. Counts and bounds, not timings.

use std::sync::Arc;
use std::time::Duration;

use ch04_observability::lab::load::fill_partitions;
use ch04_observability::lesson::consume::consume_until;
use ch04_observability::lesson::metrics::Metrics;
use ch04_observability::lesson::stats::{
    StatsContext, consumer_config, context_for, producer_config,
};
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, FutureProducer, Producer};
use tokio_util::sync::CancellationToken;
use tutorial_lab::{TestTopic, test_cluster, unique_name, within};

const INTERVAL_MS: u64 = 200;
/// How long each experiment watches: 15 intervals.
const WATCH: Duration = Duration::from_millis(3000);
const INTERVALS: u64 = 15;

/// Bounds around the expected count: at least half of the intervals (a
/// loaded machine delays timers), at most all of them plus two.
fn about_one_per_interval(count: u64) -> bool {
    (INTERVALS / 2..=INTERVALS + 2).contains(&count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_recommended_loop_the_callback_comes_every_interval_even_without_messages() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "obs-cadence", 1, 1).await;
    let config = consumer_config(
        cluster.bootstrap_servers(),
        &unique_name("obs-cadence"),
        INTERVAL_MS,
    );
    let consumer: Arc<StreamConsumer<StatsContext>> = Arc::new(
        config
            .create_with_context(context_for(&config, &Metrics::new(), "a consumer"))
            .unwrap(),
    );
    consumer.subscribe(&[&topic.name]).unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn({
        let (consumer, stop) = (Arc::clone(&consumer), stop.clone());
        async move { consume_until(&consumer, &stop, Duration::from_secs(1), |_| {}).await }
    });
    // Let the group settle, then count over the watch period.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = consumer.context().callbacks();
    tokio::time::sleep(WATCH).await;
    let count = consumer.context().callbacks() - before;
    stop.cancel();
    let handled = task.await.unwrap().unwrap();
    eprintln!("recv() loop, no messages: {count} callbacks in {WATCH:?} at {INTERVAL_MS} ms");
    assert_eq!(handled, 0, "the topic is empty");
    assert!(about_one_per_interval(count), "{count} callbacks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_nobody_polls_gets_no_statistics_then_all_of_them_at_once() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "obs-unpolled", 1, 1).await;
    fill_partitions(cluster.bootstrap_servers(), &topic.name, &[10])
        .await
        .unwrap();
    let metrics = Metrics::new();

    // BaseConsumer (librdkafka#4711): subscribed, never polled.
    let config = consumer_config(
        cluster.bootstrap_servers(),
        &unique_name("obs-unpolled"),
        INTERVAL_MS,
    );
    let base: BaseConsumer<StatsContext> = config
        .create_with_context(context_for(&config, &metrics, "a consumer"))
        .unwrap();
    base.subscribe(&[&topic.name]).unwrap();

    // StreamConsumer whose recv() nobody awaits (a loop busy elsewhere).
    let config = consumer_config(
        cluster.bootstrap_servers(),
        &unique_name("obs-unpolled"),
        INTERVAL_MS,
    );
    let stream: StreamConsumer<StatsContext> = config
        .create_with_context(context_for(&config, &metrics, "a consumer"))
        .unwrap();
    stream.subscribe(&[&topic.name]).unwrap();

    tokio::time::sleep(WATCH).await;
    assert_eq!(base.context().callbacks(), 0, "BaseConsumer, not polled");
    assert_eq!(
        stream.context().callbacks(),
        0,
        "StreamConsumer, recv() not awaited"
    );

    // One poll serves every queued statistics event at once.
    let base = tokio::task::spawn_blocking(move || {
        base.poll(Duration::from_millis(100));
        base
    })
    .await
    .unwrap();
    let burst = base.context().callbacks();
    eprintln!("BaseConsumer: 0 callbacks in {WATCH:?} without poll, {burst} in one poll(100 ms)");
    assert!(burst >= INTERVALS / 2, "{burst}");

    // rust-rdkafka#665 (a StreamConsumer that never woke after the
    // statistics were served ahead of a message): on rdkafka 0.39 the next
    // recv() serves the queued statistics and returns the message.
    let message = within(
        Duration::from_secs(10),
        "recv() after the statistics piled up",
        stream.recv(),
    )
    .await
    .unwrap();
    assert_eq!(message.offset(), 0);
    let stream_burst = stream.context().callbacks();
    eprintln!(
        "StreamConsumer: 0 callbacks in {WATCH:?} without recv(), {stream_burst} before the first message"
    );
    assert!(stream_burst >= INTERVALS / 2, "{stream_burst}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_future_producer_polls_for_itself_a_base_producer_does_not() {
    let cluster = test_cluster();
    let metrics = Metrics::new();
    let config = producer_config(cluster.bootstrap_servers(), 5, INTERVAL_MS);
    let future_context = context_for(&config, &metrics, "a producer");
    let future: FutureProducer<StatsContext> =
        config.create_with_context(future_context.clone()).unwrap();
    let base: BaseProducer<StatsContext> = config
        .create_with_context(context_for(&config, &metrics, "a producer"))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (future_before, base_before) = (future_context.callbacks(), base.context().callbacks());
    tokio::time::sleep(WATCH).await;
    let future_count = future_context.callbacks() - future_before;
    let base_count = base.context().callbacks() - base_before;
    eprintln!("FutureProducer: {future_count} callbacks, BaseProducer without poll: {base_count}");
    assert!(about_one_per_interval(future_count), "{future_count}");
    assert_eq!(base_count, 0);
    let base = tokio::task::spawn_blocking(move || {
        base.poll(Duration::from_millis(100));
        base
    })
    .await
    .unwrap();
    assert!(base.context().callbacks() >= INTERVALS / 2);
    // Not `assert_eq!(future.in_flight_count(), 0)`: that count
    // (rd_kafka_outq_len, rdkafka.c) includes events waiting on the main
    // queue, so a statistics event the polling thread has not served yet
    // makes it 1 (it did once in CI).
    drop(future);
}

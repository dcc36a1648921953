//! The producer's numbers move the way the page says: a slow link raises
//! the round trip and the queue depth (records wait for their acks) but
//! not the time records wait for a batch; a longer `linger.ms` fills the
//! batches and raises exactly that wait.

use std::time::Duration;

use ch04_observability::lab::link::{proxied_listener_present, relay_address, start_delayed};
use ch04_observability::lab::pace::{PacedRun, run_paced};
use ch04_observability::lesson::metrics::Metrics;
use ch04_observability::lesson::stats::{StatsContext, context_for, producer_config};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tutorial_lab::{TestTopic, test_cluster};

/// 10 records every 10 ms for 3 s: 1000 records per second.
async fn paced(bootstrap: &str, topic: &str, linger_ms: u32) -> PacedRun {
    let config = producer_config(bootstrap, linger_ms, 250);
    let context = context_for(&config, &Metrics::new(), "a producer");
    let producer: FutureProducer<StatsContext> =
        config.create_with_context(context.clone()).unwrap();
    // Connect and learn the leader first (several round trips on a slow
    // link), so the run measures steady sending, not start-up.
    let warm_up = FutureRecord::<(), _>::to(topic).payload("warm-up");
    producer
        .send(warm_up, Duration::from_secs(10))
        .await
        .expect("warm-up record");
    let run = run_paced(
        &producer,
        &context,
        topic,
        10,
        Duration::from_millis(10),
        300,
    )
    .await
    .expect("every record acknowledged");
    assert_eq!(run.sent, 3000);
    assert!(
        run.snapshots.len() >= 6,
        "{} snapshots",
        run.snapshots.len()
    );
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_link_raises_round_trip_and_queue_depth_but_not_the_batch_wait() {
    let cluster = test_cluster();
    assert!(
        proxied_listener_present(),
        "the broker has no PROXIED listener ({}): start it with `cargo xtask kafka up`",
        ch04_observability::lab::link::proxied_address()
    );
    let topic = TestTopic::create(&cluster, "obs-slow", 1, 1).await;
    let direct = paced(cluster.bootstrap_servers(), &topic.name, 5).await;

    let one_way = Duration::from_millis(100);
    let link = start_delayed(one_way, Duration::from_secs(120))
        .await
        .expect("the delayed link");
    if link.busy_retries > 0 {
        eprintln!(
            "the proxy port was busy; started after {} retries",
            link.busy_retries
        );
    }
    let slow = paced(&relay_address(), &topic.name, 5).await;
    drop(link);

    let rtt = |run: &PacedRun| run.broker_window_avg(|b| b.rtt.as_ref()).expect("rtt");
    let wait = |run: &PacedRun| {
        run.broker_window_avg(|b| b.int_latency.as_ref())
            .expect("int_latency")
    };
    eprintln!(
        "direct: rtt {:.1} ms, int_latency {:.1} ms, peak queue {}; 100 ms each way: rtt {:.1} ms, int_latency {:.1} ms, peak queue {}",
        rtt(&direct) / 1e3,
        wait(&direct) / 1e3,
        direct.peak_queue(),
        rtt(&slow) / 1e3,
        wait(&slow) / 1e3,
        slow.peak_queue()
    );
    // The round trip includes the link's two one-way delays.
    assert!(
        rtt(&slow) >= 2.0 * one_way.as_micros() as f64,
        "{}",
        rtt(&slow)
    );
    // The link adds 200 ms to every round trip; on a loaded machine the
    // direct round trip grows too, so compare the difference, with margin.
    assert!(
        rtt(&slow) - rtt(&direct) >= 0.75 * 2.0 * one_way.as_micros() as f64,
        "{} vs {}",
        rtt(&slow),
        rtt(&direct)
    );
    // Little's law: at 1000 records/s, ~200 ms more per ack is ~200 more
    // records in the client at any time (asserted with half of that).
    assert!(
        slow.peak_queue() >= direct.peak_queue() + 100,
        "{} vs {}",
        slow.peak_queue(),
        direct.peak_queue()
    );
    // Batches are still built on time: the wait is in flight, not in linger.
    assert!(
        wait(&slow) < rtt(&slow) / 4.0,
        "{} vs {}",
        wait(&slow),
        rtt(&slow)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_longer_linger_fills_batches_and_makes_records_wait_longer() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "obs-linger", 1, 1).await;
    let eager = paced(cluster.bootstrap_servers(), &topic.name, 0).await;
    let patient = paced(cluster.bootstrap_servers(), &topic.name, 100).await;
    let batch = |run: &PacedRun| run.batch_messages_avg(&topic.name).expect("batches");
    let wait = |run: &PacedRun| {
        run.broker_window_avg(|b| b.int_latency.as_ref())
            .expect("int_latency")
    };
    eprintln!(
        "linger.ms=0: {:.1} records per batch, int_latency {:.1} ms; linger.ms=100: {:.1} per batch, int_latency {:.1} ms",
        batch(&eager),
        wait(&eager) / 1e3,
        batch(&patient),
        wait(&patient) / 1e3
    );
    assert!(
        batch(&patient) >= 3.0 * batch(&eager),
        "{} vs {}",
        batch(&patient),
        batch(&eager)
    );
    // Records wait for the batch: on average about half the linger or more.
    assert!(wait(&patient) >= 40_000.0, "{}", wait(&patient));
    assert!(wait(&eager) < wait(&patient) / 4.0);
}

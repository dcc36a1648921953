//! The synchronous-send trap as a claim, not a number: when every call sends
//! one message and waits for it, each call waits out the batch timer —
//! kafka-go's `BatchTimeout` (1 s by default) and librdkafka's `linger.ms`
//! alike. Only lower bounds on time are asserted: a slow machine can make
//! them hold more easily, never fail them.

use std::time::{Duration, Instant};

use bench_lab::clients::go::KAFKA_GO;
use bench_lab::clients::{Client, RunSpec, Work};
use ch04_tuning::lesson::sync_sends;
use tutorial_lab::testing::{TestTopic, test_cluster};

const CALLS: u64 = 3;

#[tokio::test]
async fn each_synchronous_single_message_write_waits_out_the_batch_timer() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "ch04-sync-trap", 1, 1).await;

    // kafka-go: a Writer with the default BatchTimeout (1 s).
    let binary = KAFKA_GO.build().expect("build the kafka-go program");
    let spec = RunSpec {
        client: Client::KafkaGo,
        bootstrap: bootstrap.to_string(),
        topic: topic.name.clone(),
        records: CALLS,
        work: Work::SyncSends { linger_ms: None },
    };
    let started = Instant::now();
    let output = KAFKA_GO
        .command(&binary, &spec)
        .expect("the kafka-go command")
        .output()
        .expect("run the kafka-go program");
    let go = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("kafka-go, BatchTimeout 1 s: {CALLS} synchronous writes took {go:.2?}");
    assert!(
        go >= Duration::from_millis(900 * CALLS),
        "each WriteMessages waited for the 1 s batch timer: {go:?}"
    );

    // librdkafka: the same pattern with linger.ms = 1000.
    let ours = sync_sends(bootstrap, &topic.name, CALLS, 1000)
        .await
        .expect("synchronous sends");
    let p50 = ours.latency.expect("latencies").p50_ms;
    println!("FutureProducer, linger.ms=1000: p50 {p50:.0} ms per send");
    assert!(p50 >= 900.0, "each send waited for linger.ms: {p50} ms");
}

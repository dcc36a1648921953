//! Decides `ex-linger` on the real broker: 400 records, one about every
//! millisecond, through the participant's producer; librdkafka's own
//! statistics count the Produce requests. On average each must carry 10
//! records or more, and `linger.ms` must stay within the latency budget.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ex_linger::{MAX_LINGER_MS, producer_config};
use rdkafka::ClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use tutorial_lab::testing::{TestTopic, test_cluster};

const RECORDS: usize = 400;

/// Keeps the last statistics: Produce requests sent (per broker, summed)
/// and records transmitted.
#[derive(Clone, Default)]
struct Counted(Arc<Mutex<(i64, i64)>>);

impl ClientContext for Counted {
    fn stats(&self, statistics: Statistics) {
        let requests = statistics
            .brokers
            .values()
            .filter_map(|b| b.req.get("Produce"))
            .sum();
        *self.0.lock().unwrap() = (requests, statistics.txmsgs);
    }
}

impl ProducerContext for Counted {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            panic!("a record was not delivered: {error}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_steady_rate_each_request_carries_ten_records_or_more_within_the_latency_budget() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ex-linger", 1, 1).await;
    let mut config = producer_config(cluster.bootstrap_servers());

    let linger: u64 = config
        .get("linger.ms")
        .unwrap_or("5")
        .parse()
        .expect("linger.ms is a number of milliseconds");
    assert!(
        linger <= MAX_LINGER_MS,
        "linger.ms={linger}: a record may wait that long in its batch, over the budget of {MAX_LINGER_MS} ms"
    );

    // The check's own setting: statistics every 100 ms, to count requests.
    config.set("statistics.interval.ms", "100");
    let counted = Counted::default();
    let producer: BaseProducer<Counted> = config
        .create_with_context(counted.clone())
        .expect("the producer");
    let name = topic.name.clone();
    let producer = tokio::task::spawn_blocking(move || {
        for i in 0..RECORDS {
            let value = format!("reading {i}");
            producer
                .send(BaseRecord::<(), _>::to(&name).payload(&value))
                .map_err(|(e, _)| e)
                .expect("send");
            producer.poll(Duration::ZERO);
            thread::sleep(Duration::from_millis(1));
        }
        producer.flush(Duration::from_secs(30)).expect("flush");
        producer
    })
    .await
    .unwrap();

    // Statistics that include the last request.
    let deadline = Instant::now() + Duration::from_secs(10);
    let (requests, sent) = loop {
        producer.poll(Duration::from_millis(100));
        let (requests, sent) = *counted.0.lock().unwrap();
        if sent >= RECORDS as i64 {
            break (requests, sent);
        }
        assert!(
            Instant::now() < deadline,
            "the statistics counted {sent} of {RECORDS} records within 10 s"
        );
    };
    let per_request = sent as f64 / requests.max(1) as f64;
    println!(
        "linger.ms={linger}: {sent} records in {requests} Produce requests, {per_request:.1} per request"
    );
    assert!(
        per_request >= 10.0,
        "{per_request:.1} records per request ({requests} requests for {sent} records) at about \
         1000 records/s with linger.ms={linger}: each batch left before others could join it"
    );
}

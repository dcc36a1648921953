//! Aborting a transaction on a `BaseProducer`, on the real broker: why the
//! lesson's `abort` serves delivery reports between short attempts.

use std::time::{Duration, Instant};

use ch04_transactions::lesson::producer::{self, Class, abort, classify};
use rdkafka::producer::{BaseRecord, Producer};
use tutorial_lab::test_cluster;
use tutorial_lab::testing::{TestTopic, unique_name};

#[tokio::test]
async fn abort_needs_its_delivery_reports_served() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-txn-abort", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers().to_string();
    let name = topic.name.clone();
    tokio::task::spawn_blocking(move || {
        let id = unique_name("ch04-txn-abort");
        let producer = producer::create(&producer::producer_config(&bootstrap, &id))
            .expect("init_transactions");
        let send_some = || {
            producer.begin_transaction().expect("begin_transaction");
            for i in 0..100 {
                let payload = format!("aborted-{i}");
                producer
                    .send(BaseRecord::<(), _>::to(&name).payload(&payload))
                    .expect("send");
            }
        };

        // Right after `send`, nothing has served the delivery reports: the
        // abort waits for them until its timeout, whatever it is.
        send_some();
        let started = Instant::now();
        let error = producer
            .abort_transaction(Duration::from_secs(3))
            .expect_err("an abort with unserved delivery reports");
        assert!(started.elapsed() >= Duration::from_secs(3), "{error}");
        assert_eq!(classify(&error), Class::Retry, "{error}");
        assert!(error.to_string().contains("must be polled"), "{error}");

        // The lesson's abort serves them and finishes that abort…
        abort(&producer).expect("the lesson's abort");
        // …and the producer can run the next transaction.
        send_some();
        let started = Instant::now();
        abort(&producer).expect("the lesson's abort, again");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "took {:?}",
            started.elapsed()
        );
        producer.begin_transaction().expect("begin after the abort");
    })
    .await
    .unwrap();
}

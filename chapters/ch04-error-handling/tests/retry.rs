//! Delayed retries through a retry topic, on a real broker.

use std::sync::Mutex;
use std::time::Duration;

use ch04_error_handling::lesson::classify::producer_config;
use ch04_error_handling::lesson::dead_letter::{consumer, dlq_headers, header};
use ch04_error_handling::lesson::retry_topic::{
    Failure, Policy, now_ms, retry_headers, run_with_retry_topic,
};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;
use rdkafka::producer::FutureProducer;
use tutorial_lab::testing::{
    TestTopic, committed_offset, produce, read_all, test_cluster, unique_name, within,
};
use tutorial_support::topics::ensure_topic;

const DELAY: Duration = Duration::from_secs(2);

/// The handler: `ok-*` works, `flaky-*` fails once (a dependency blip),
/// `down-*` keeps failing, `poison-*` can never work.
fn handle(payload: &[u8], attempt: u32) -> Result<(), Failure> {
    let text = String::from_utf8_lossy(payload);
    match text.split('-').next() {
        Some("flaky") if attempt == 1 => Err(Failure::Transient("service unavailable".into())),
        Some("down") => Err(Failure::Transient("service unavailable".into())),
        Some("poison") => Err(Failure::Poison("not an order".into())),
        _ => Ok(()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_after_a_delay_without_holding_up_the_partition() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "ch04-retry", 1, 1).await;
    let (retry_topic, dlq) = (
        format!("{}.retry", topic.name),
        format!("{}.dlq", topic.name),
    );
    ensure_topic(&cluster, &retry_topic, 1, 1, &[])
        .await
        .unwrap();
    ensure_topic(&cluster, &dlq, 1, 1, &[]).await.unwrap();
    let payloads = [
        "ok-0", "ok-1", "ok-2", "flaky-3", "ok-4", "poison-5", "ok-6", "flaky-7", "ok-8", "down-9",
        "ok-10", "ok-11",
    ];
    produce(
        &cluster,
        &topic.name,
        payloads.iter().map(|p| (None, p.to_string())),
    )
    .await;

    let group = unique_name("ch04-retry");
    let retry_group = format!("{group}.retry");
    let main = consumer(bootstrap, &topic.name, &group).unwrap();
    let retries = consumer(bootstrap, &retry_topic, &retry_group).unwrap();
    let producer: FutureProducer = producer_config(bootstrap, 30_000).create().unwrap();
    let calls = Mutex::new(Vec::new());
    let policy = Policy {
        delay: DELAY,
        max_attempts: 3,
    };
    let report = run_with_retry_topic(
        &main,
        &retries,
        &producer,
        &topic.name,
        12,
        policy,
        |p, n| {
            calls
                .lock()
                .unwrap()
                .push((String::from_utf8_lossy(p).into_owned(), n, now_ms()));
            handle(p, n)
        },
    )
    .await
    .unwrap();
    let calls = calls.into_inner().unwrap();
    let first_call = |p: &str| calls.iter().find(|c| c.0 == p).unwrap().2;
    let processed = |p: &str| report.processed.iter().find(|r| r.payload == p).cloned();

    // Every record is accounted for exactly once.
    let mut done: Vec<&str> = report
        .processed
        .iter()
        .map(|r| r.payload.as_str())
        .collect();
    done.extend(report.dead_lettered.iter().map(String::as_str));
    done.sort_unstable();
    let mut all = payloads.to_vec();
    all.sort_unstable();
    assert_eq!(done, all, "each record processed or dead-lettered, once");

    // Flaky records succeed on the second attempt, no sooner than the delay.
    for flaky in ["flaky-3", "flaky-7"] {
        let record = processed(flaky).expect("processed");
        assert_eq!(record.attempt, 2, "{flaky}");
        let waited = record.at_ms - first_call(flaky);
        assert!(
            waited >= DELAY.as_millis() as u64,
            "{flaky} retried after {waited} ms"
        );
    }
    // The partition was not held up: every ok-* record was processed before
    // the first retry came due — so ok-4 overtook flaky-3 (order is the price).
    let last_ok = report
        .processed
        .iter()
        .filter(|r| r.payload.starts_with("ok"))
        .map(|r| r.at_ms)
        .max()
        .unwrap();
    assert!(last_ok < first_call("flaky-3") + DELAY.as_millis() as u64);
    assert!(processed("ok-4").unwrap().at_ms < processed("flaky-3").unwrap().at_ms);

    // down-9 used all three attempts; poison-5 went straight to the DLQ.
    assert_eq!(report.parked, 4, "flaky-3, flaky-7 once; down-9 twice");
    let dead = dead_letters(&cluster, &dlq).await;
    let by_payload = |p: &str| {
        dead.iter()
            .find(|m| m.payload() == Some(p.as_bytes()))
            .unwrap_or_else(|| panic!("{p} in the DLQ"))
    };
    let down = by_payload("down-9");
    assert_eq!(header(down, dlq_headers::ATTEMPTS).as_deref(), Some("3"));
    assert_eq!(
        header(down, dlq_headers::OFFSET).as_deref(),
        Some("9"),
        "origin kept across retries"
    );
    assert_eq!(
        header(down, dlq_headers::TOPIC).as_deref(),
        Some(topic.name.as_str())
    );
    assert!(header(down, retry_headers::ATTEMPT).is_none());
    let poison = by_payload("poison-5");
    assert_eq!(header(poison, dlq_headers::ATTEMPTS).as_deref(), Some("1"));
    assert_eq!(
        header(poison, dlq_headers::ERROR).as_deref(),
        Some("not an order")
    );

    // Both groups committed past everything they handled.
    assert_eq!(committed_offset(bootstrap, &topic.name, &group), Some(12));
    assert_eq!(
        committed_offset(bootstrap, &retry_topic, &retry_group),
        Some(4)
    );
    let parked = read_all(&cluster, &retry_topic, 4, Duration::from_secs(30)).await;
    assert_eq!(parked.len(), 4);
}

async fn dead_letters(cluster: &tutorial_support::Cluster, dlq: &str) -> Vec<OwnedMessage> {
    let reader = consumer(
        cluster.bootstrap_servers(),
        dlq,
        &unique_name("ch04-dlq-reader"),
    )
    .unwrap();
    let mut out = Vec::new();
    while out.len() < 2 {
        let message = within(Duration::from_secs(30), "dead letters", reader.recv())
            .await
            .unwrap();
        out.push(message.detach());
    }
    out
}

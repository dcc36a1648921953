//! Decides `ex-transactions` on the real broker. Two transactions of 10
//! records each, input → output: the first is committed, the second
//! aborted. Afterwards the group's committed offset must be exactly 10 —
//! the next record to read after the committed batch; neither 9 (record 9
//! would be processed twice) nor 20 (the aborted batch's input would count
//! as consumed while its output is gone).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ex_transactions::{TIMEOUT, send_offsets};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use tutorial_lab::testing::{
    TestTopic, committed_offset, produce, read_all, test_cluster, unique_name,
};

/// Reads `n` records; their offsets.
fn take(consumer: &BaseConsumer, n: usize) -> Vec<(i64, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "read {} of {n} input records in 60 s",
            got.len()
        );
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            got.push((
                message.offset(),
                message.payload().unwrap_or_default().to_vec(),
            ));
        }
    }
    got
}

/// One transaction: copy `n` input records to `output` (upper-cased), put
/// the offsets in with the participant's code, then commit or abort.
fn batch(
    producer: &BaseProducer,
    consumer: &BaseConsumer,
    input: &str,
    output: &str,
    n: usize,
    commit: bool,
) {
    producer.begin_transaction().unwrap();
    let mut last = BTreeMap::new();
    for (offset, payload) in take(consumer, n) {
        let value = payload.to_ascii_uppercase();
        producer
            .send(BaseRecord::<(), _>::to(output).payload(&value))
            .unwrap();
        last.insert(0, offset);
    }
    producer.flush(TIMEOUT).unwrap();
    send_offsets(producer, consumer, input, &last)
        .unwrap_or_else(|e| panic!("send_offsets: {e:#}"));
    if commit {
        producer.commit_transaction(TIMEOUT).unwrap();
    } else {
        producer.abort_transaction(TIMEOUT).unwrap();
    }
}

#[tokio::test]
async fn offsets_commit_and_abort_with_the_output() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers().to_string();
    let input = TestTopic::create(&cluster, "ex-txn-in", 1, 1).await;
    let output = TestTopic::create(&cluster, "ex-txn-out", 1, 1).await;
    produce(
        &cluster,
        &input.name,
        (0..20).map(|i| (None, format!("record-{i}"))),
    )
    .await;
    let group = unique_name("ex-txn");

    let (b, g, i, o) = (
        bootstrap.clone(),
        group.clone(),
        input.name.clone(),
        output.name.clone(),
    );
    tokio::task::spawn_blocking(move || {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("transactional.id", unique_name("ex-txn"))
            .create()
            .unwrap();
        producer.init_transactions(TIMEOUT).unwrap();
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", &g)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&[&i]).unwrap();
        batch(&producer, &consumer, &i, &o, 10, true);
        batch(&producer, &consumer, &i, &o, 10, false);
    })
    .await
    .unwrap();

    match committed_offset(&bootstrap, &input.name, &group) {
        Some(10) => {}
        Some(9) => panic!(
            "committed 9: a group's committed offset is the next record to read, so record 9 \
             would be processed again — add 1 to the last processed offset"
        ),
        Some(20) => panic!(
            "committed 20 although the second transaction was aborted: the offsets were \
             committed outside the transaction (its output is gone, its input counts as read)"
        ),
        other => panic!("committed offset {other:?}, expected 10"),
    }
    // A read_committed reader sees exactly the first batch's output.
    let seen = read_all(&cluster, &output.name, 10, Duration::from_secs(30)).await;
    let payloads: Vec<String> = seen.into_iter().map(|r| r.payload).collect();
    let expected: Vec<String> = (0..10).map(|i| format!("RECORD-{i}")).collect();
    assert_eq!(payloads, expected);
}

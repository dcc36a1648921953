//! Decides `ex-store-after-processing` on the real broker: a consumer that
//! crashes while processing record 10 must leave the group's committed
//! offset at 10 — records 0–9 done, record 10 read again after a restart.

use std::time::Duration;

use anyhow::bail;
use ex_store_after_processing::{consume, store_after_config};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use tutorial_lab::testing::{TestTopic, committed_offset, produce, test_cluster, unique_name};

const CRASH_AT: i64 = 10;

#[tokio::test]
async fn a_crash_while_processing_loses_nothing() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ex-store-after", 1, 1).await;
    produce(
        &cluster,
        &topic.name,
        (0..20).map(|i| (None, format!("record-{i}"))),
    )
    .await;
    let group = unique_name("ex-store-after");
    let bootstrap = cluster.bootstrap_servers();

    let consumer: StreamConsumer = store_after_config(bootstrap, &group).create().unwrap();
    consumer.subscribe(&[&topic.name]).unwrap();
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        consume(&consumer, |message| {
            if message.offset() == CRASH_AT {
                bail!("crashed while processing offset {CRASH_AT}");
            }
            seen.push(message.offset());
            Ok(())
        }),
    )
    .await
    .expect("no crash within 60 s: does consume hand every record to process?");
    assert!(outcome.is_err(), "consume must return the processing error");
    assert_eq!(seen, (0..CRASH_AT).collect::<Vec<_>>(), "processed records");

    // What a clean shutdown (or the next auto-commit) sends: what is stored.
    let _ = consumer.commit_consumer_state(CommitMode::Sync);
    drop(consumer);
    let committed = committed_offset(bootstrap, &topic.name, &group);
    match committed {
        Some(CRASH_AT) => {}
        Some(offset) if offset > CRASH_AT => panic!(
            "committed {offset}: the group moved past record {CRASH_AT}, which was never \
             processed — it is lost. Is the automatic store off, and is each offset stored only \
             after `process` succeeded?"
        ),
        other => panic!(
            "committed {other:?}, expected {CRASH_AT}: records 0–{} were processed but their \
             offsets never stored — after a restart they would all be processed again",
            CRASH_AT - 1
        ),
    }

    // The restarted member continues exactly at the record that crashed.
    let again: StreamConsumer = store_after_config(bootstrap, &group).create().unwrap();
    again.subscribe(&[&topic.name]).unwrap();
    let first = tokio::time::timeout(Duration::from_secs(30), again.recv())
        .await
        .expect("the restarted member got no record within 30 s")
        .unwrap();
    assert_eq!(
        first.offset(),
        CRASH_AT,
        "the restart must begin at the crashed record"
    );
}

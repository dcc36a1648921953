//! Decides `ex-window-checkpoint` on the real broker. A partition of 12
//! records: the windows up to offset 6 were emitted, two windows are still
//! open (their first records at offsets 9 and 7), records up to 11 were
//! handled. The group's committed offset must be 7 — not 12, which would
//! skip the open windows' records on a restart — with the checkpoint in its
//! metadata; a restarted member must begin at offset 7. With no window
//! open, the offset is `next`.

use std::time::{Duration, Instant};

use ex_window_checkpoint::{Progress, TIMEOUT, commit_progress, offset_to_commit};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, TopicPartitionList};
use tutorial_lab::testing::{TestTopic, produce, test_cluster, unique_name};

fn member(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("a consumer")
}

/// The group's committed offset of partition 0 and its metadata.
fn committed(consumer: &BaseConsumer, topic: &str) -> (Option<i64>, String) {
    let mut wanted = TopicPartitionList::new();
    wanted.add_partition(topic, 0);
    let committed = consumer
        .committed_offsets(wanted, TIMEOUT)
        .expect("reading the committed offset");
    let element = committed.find_partition(topic, 0).expect("partition 0");
    (
        element.offset().to_raw().filter(|o| *o >= 0),
        element.metadata().to_string(),
    )
}

/// The first offset a fresh member of `group` is given.
fn first_offset(bootstrap: &str, group: &str, topic: &str) -> i64 {
    let consumer = member(bootstrap, group);
    consumer.subscribe(&[topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no record within 60 s");
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            return message.expect("a record").offset();
        }
    }
}

#[test]
fn with_no_window_open_the_offset_is_the_next_record() {
    let progress = Progress {
        next: 12,
        open_windows: Vec::new(),
        checkpoint: String::new(),
    };
    assert_eq!(offset_to_commit(&progress), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_offset_keeps_the_open_windows_and_carries_the_checkpoint() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ex-window-checkpoint", 1, 1).await;
    produce(
        &cluster,
        &topic.name,
        (0..12).map(|i| (None, format!("event {i}"))),
    )
    .await;
    let bootstrap = cluster.bootstrap_servers().to_string();
    let group = unique_name("ex-window-checkpoint");

    let progress = Progress {
        next: 12,
        open_windows: vec![9, 7],
        checkpoint: "closed=60000;next=12".into(),
    };
    let offset = offset_to_commit(&progress);
    assert_eq!(
        offset,
        7,
        "windows that began at offsets 9 and 7 are still open: a restart must read them again \
         from the older one's first record; committing {offset} {}",
        if offset > 7 {
            "skips records whose counts exist only in memory"
        } else {
            "reads records that are already in emitted results"
        }
    );

    let consumer = member(&bootstrap, &group);
    commit_progress(&consumer, &topic.name, 0, &progress).expect("the commit");
    let (committed_offset, metadata) = committed(&member(&bootstrap, &group), &topic.name);
    assert_eq!(committed_offset, Some(7), "the group's committed offset");
    assert_eq!(
        metadata, "closed=60000;next=12",
        "the checkpoint must travel in the offset's metadata: the next owner skips the re-read \
         records it already counted by it"
    );
    assert_eq!(
        first_offset(&bootstrap, &group, &topic.name),
        7,
        "a restarted member begins at the committed offset"
    );
}

//! The two ways to store an offset by hand, and the arithmetic each expects,
//! read back from the broker: what the group committed after each store.

use std::time::Duration;

use ch03_manual_commit::lab::{Mode, Reader, committed_offset, produce, subscribe};
use ch03_manual_commit::lesson::{store_processed, store_processed_list};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name, within};

/// A store-after consumer of a fresh group that has been handed records
/// 0..=4 of a ten-record topic (none stored yet).
struct Fixture {
    bootstrap: String,
    topic: TestTopic,
    group: String,
    consumer: Reader,
}

impl Fixture {
    /// Commits what is stored and reads the group's committed offset back.
    fn commit_and_read_back(&self) -> Option<i64> {
        self.consumer
            .commit_consumer_state(CommitMode::Sync)
            .unwrap();
        committed_offset(&self.bootstrap, &self.topic.name, &self.group).unwrap()
    }
}

async fn handed_out_up_to_4(prefix: &str) -> Fixture {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, prefix, 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, 10)
        .await
        .unwrap();
    let group = unique_name(prefix);
    let consumer = subscribe(
        cluster.bootstrap_servers(),
        &topic.name,
        &group,
        Mode::StoreAfter,
    )
    .unwrap();
    loop {
        let message = within(Duration::from_secs(30), "records 0..=4", consumer.recv())
            .await
            .unwrap();
        if message.offset() == 4 {
            break;
        }
    }
    Fixture {
        bootstrap: cluster.bootstrap_servers().to_string(),
        topic,
        group,
        consumer,
    }
}

#[tokio::test]
async fn store_offset_adds_one_itself_so_it_takes_the_records_own_offset() {
    let f = handed_out_up_to_4("ch03-store-one").await;
    // Record 4 processed: pass its own offset.
    store_processed(&f.consumer, &f.topic.name, 0, 4).unwrap();
    assert_eq!(
        f.commit_and_read_back(),
        Some(5),
        "store_offset(4) commits 5: the next record to read"
    );
    // The mistake: adding 1 yourself. The group now starts at 6 — record 5,
    // never processed, would be skipped.
    f.consumer.store_offset(&f.topic.name, 0, 4 + 1).unwrap();
    assert_eq!(f.commit_and_read_back(), Some(6));
}

#[tokio::test]
async fn store_offsets_stores_the_list_as_is_so_it_takes_offset_plus_one() {
    let f = handed_out_up_to_4("ch03-store-list").await;
    // The mistake: the record's own offset in the list. The group starts at
    // 4 again — record 4, already processed, would be processed twice.
    let mut own = TopicPartitionList::new();
    own.add_partition_offset(&f.topic.name, 0, Offset::Offset(4))
        .unwrap();
    f.consumer.store_offsets(&own).unwrap();
    assert_eq!(
        f.commit_and_read_back(),
        Some(4),
        "store_offsets stores the list as it is"
    );
    // Record 4 processed: the list carries 4 + 1.
    store_processed_list(&f.consumer, &f.topic.name, 0, 4).unwrap();
    assert_eq!(f.commit_and_read_back(), Some(5));
}

//! On three brokers (`#[ignore]`d: `cargo xtask test` runs it in its
//! three-broker phase): with the group's coordinator killed, librdkafka's
//! `send_offsets_to_transaction` does not return within its timeout
//! (librdkafka#5456, #5511) — why the lessons run it under a watchdog.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ch04_transactions::lesson::producer::{self, CALL_TIMEOUT};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tutorial_lab::testing::{TestTopic, test_cluster_with_brokers, unique_name};
use tutorial_lab::{Faults, nodes};

/// The coordinator of `key` (a group id in `__consumer_offsets`, a
/// transactional id in `__transaction_state`): the leader of partition
/// `abs(key.hashCode()) % 50` (both topics have 50 partitions by default;
/// `GroupCoordinatorService.partitionFor`, `TransactionStateManager.partitionFor`).
fn coordinator_of(consumer: &BaseConsumer, topic: &str, key: &str) -> i32 {
    let hash = key
        .encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)));
    let partition = (hash & 0x7fff_ffff) % 50;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let partitions = metadata.topics()[0].partitions();
    assert_eq!(partitions.len(), 50, "{topic} has 50 partitions");
    partitions[partition as usize].leader()
}

#[test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
fn send_offsets_to_transaction_outlives_its_timeout_when_a_broker_dies() {
    let cluster = test_cluster_with_brokers(3);
    let bootstrap = cluster.bootstrap_servers().to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let topic = runtime.block_on(TestTopic::create(&cluster, "ch04-coord-down", 1, 3));

    let group = unique_name("ch04-coord-down");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", &group)
        .create()
        .unwrap();
    // The offsets topic exists once some group has used it.
    let _ = consumer.committed_offsets(TopicPartitionList::new(), Duration::from_secs(10));
    let coordinator = coordinator_of(&consumer, "__consumer_offsets", &group);
    let group_metadata = consumer.group_metadata().expect("group metadata");

    // A transaction coordinator on another broker: what blocks below is the
    // group coordinator's part (TxnOffsetCommit), not AddOffsetsToTxn.
    let id = (0..)
        .map(|_| unique_name("ch04-coord-down"))
        .find(|id| coordinator_of(&consumer, "__transaction_state", id) != coordinator)
        .unwrap();
    let producer = producer::create(&producer::producer_config(&bootstrap, &id)).unwrap();
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset(&topic.name, 0, Offset::Offset(1))
        .unwrap();
    let transaction = |commit: bool| {
        producer.begin_transaction().unwrap();
        producer
            .send(BaseRecord::<(), _>::to(&topic.name).payload("output"))
            .map_err(|(e, _)| e)
            .unwrap();
        producer.flush(CALL_TIMEOUT).unwrap();
        if commit {
            producer
                .send_offsets_to_transaction(&offsets, &group_metadata, CALL_TIMEOUT)
                .unwrap();
            producer.commit_transaction(CALL_TIMEOUT).unwrap();
        }
    };
    // One whole transaction: the producer now knows the group's coordinator.
    transaction(true);
    transaction(false);

    let mut faults = Faults::new();
    let node = nodes()
        .unwrap()
        .into_iter()
        .find(|n| n.id == coordinator)
        .expect("the coordinator is a node of the local cluster");
    faults.kill(&node).unwrap();

    let timeout = Duration::from_secs(2);
    let (done, returned) = mpsc::channel();
    thread::spawn(move || {
        let started = Instant::now();
        let outcome = producer.send_offsets_to_transaction(&offsets, &group_metadata, timeout);
        let _ = done.send((started.elapsed(), outcome.map_err(|e| e.to_string())));
    });
    // What is certain: it does not return within twice its timeout. Seen:
    // 7.6 s and 8.1 s with a 2 s timeout, both "Failed to add offsets to
    // transaction … Local: Timed out"; in one CI run of 五's chaos drill,
    // never (see 五).
    let waited = Duration::from_secs(30);
    match returned.recv_timeout(waited) {
        Ok((after, outcome)) => {
            println!(
                "send_offsets_to_transaction({timeout:?}) returned after {after:?}: {outcome:?}"
            );
            assert!(
                after >= timeout * 2,
                "send_offsets_to_transaction({timeout:?}) returned after {after:?}: {outcome:?} — \
                 librdkafka bounds it now: update 四.4's pitfall and `or_exit`"
            );
        }
        Err(_) => println!(
            "send_offsets_to_transaction({timeout:?}) has not returned after {waited:?} \
             (group coordinator: broker {coordinator}, killed)"
        ),
    }
    // Faults restarts the broker; the thread stays blocked until the process exits.
    drop(faults);
}

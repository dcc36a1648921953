//! Chapter 三.1's claims, proven on a real Apache Kafka broker.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ch03_reader::lab::{Members, produce};
use ch03_reader::lesson::{join, read_from_offset, read_from_time, read_stream};
use rdkafka::Message;
use tokio_util::sync::CancellationToken;
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name};

const SETTLE: Duration = Duration::from_secs(30);

fn payload(m: &rdkafka::message::OwnedMessage) -> String {
    String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned()
}

#[tokio::test]
async fn two_groups_each_receive_every_record() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-pubsub", 3, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    let members = Members::start(vec![
        join(bootstrap, &topic.name, &unique_name("g1"), Some("earliest")).unwrap(),
        join(bootstrap, &topic.name, &unique_name("g2"), Some("earliest")).unwrap(),
    ]);
    members.wait_until_assigned(SETTLE).await.unwrap();
    produce(bootstrap, &topic.name, 0, 100, None).await.unwrap();
    members.wait_for_total(200, SETTLE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(members.stop().await.unwrap(), vec![100, 100]);
}

#[tokio::test]
async fn two_members_of_one_group_split_the_records_and_each_is_processed_once() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-queue", 3, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    let group = unique_name("g");
    let members = Members::start(vec![
        join(bootstrap, &topic.name, &group, Some("earliest")).unwrap(),
        join(bootstrap, &topic.name, &group, Some("earliest")).unwrap(),
    ]);
    members.wait_until_assigned(SETTLE).await.unwrap();
    produce(bootstrap, &topic.name, 0, 100, None).await.unwrap();
    members.wait_for_total(100, SETTLE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = members.stop().await.unwrap();
    assert_eq!(
        counts.iter().sum::<usize>(),
        100,
        "each record once within the group: {counts:?}"
    );
    assert!(
        counts.iter().all(|c| *c > 0),
        "both members did work: {counts:?}"
    );
}

#[tokio::test]
async fn reading_from_an_offset_starts_exactly_there() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-seek", 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, 0, 10, None)
        .await
        .unwrap();
    let first = read_from_offset(cluster.bootstrap_servers(), &topic.name, 0, 7)
        .await
        .unwrap();
    assert_eq!((first.offset(), payload(&first)), (7, "7".to_string()));
}

#[tokio::test]
async fn reading_from_a_time_starts_at_the_first_record_at_or_after_it() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-time", 1, 1).await;
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 60_000;
    // Record i has timestamp base + i seconds.
    produce(cluster.bootstrap_servers(), &topic.name, 0, 10, Some(base))
        .await
        .unwrap();
    let first = read_from_time(cluster.bootstrap_servers(), &topic.name, 0, base + 4_500)
        .await
        .unwrap();
    assert_eq!(
        first.offset(),
        5,
        "the first record at or after base+4.5 s is record 5"
    );
    assert_eq!(first.timestamp().to_millis(), Some(base + 5_000));
    let exact = read_from_time(cluster.bootstrap_servers(), &topic.name, 0, base + 2_000)
        .await
        .unwrap();
    assert_eq!(exact.offset(), 2, "an exact match is included");
}

/// Produces probe records until the member has received one, which proves
/// its starting position is settled; returns how many probes were sent.
async fn settle_position(members: &Members, index: usize, bootstrap: &str, topic: &str) -> usize {
    let deadline = Instant::now() + SETTLE;
    let mut probes = 0;
    while members.count(index) == 0 {
        assert!(
            Instant::now() < deadline,
            "member {index} never started reading"
        );
        produce(bootstrap, topic, 1000 + probes, 1, None)
            .await
            .unwrap();
        probes += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    probes
}

#[tokio::test]
async fn a_new_group_with_the_default_reset_sees_only_records_produced_after_it_joined() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-latest", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    produce(bootstrap, &topic.name, 0, 30, None).await.unwrap();
    let members = Members::start(vec![
        join(bootstrap, &topic.name, &unique_name("g"), None).unwrap(),
    ]);
    members.wait_until_assigned(SETTLE).await.unwrap();
    let probes = settle_position(&members, 0, bootstrap, &topic.name).await;
    // Probes sent before the position was fixed are skipped too: count what arrived.
    let baseline = members.count(0);
    assert!(
        baseline <= probes,
        "only probes so far, none of the 30 old records: {baseline}"
    );
    produce(bootstrap, &topic.name, 30, 5, None).await.unwrap();
    members.wait_for_total(baseline + 5, SETTLE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let counts = members.stop().await.unwrap();
    assert_eq!(
        counts,
        vec![baseline + 5],
        "none of the 30 earlier records, all later ones"
    );
}

#[tokio::test]
async fn a_new_group_with_earliest_sees_every_record() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-earliest", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    produce(bootstrap, &topic.name, 0, 30, None).await.unwrap();
    let members = Members::start(vec![
        join(bootstrap, &topic.name, &unique_name("g"), Some("earliest")).unwrap(),
    ]);
    members.wait_until_assigned(SETTLE).await.unwrap();
    produce(bootstrap, &topic.name, 30, 5, None).await.unwrap();
    members.wait_for_total(35, SETTLE).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(members.stop().await.unwrap(), vec![35]);
}

#[tokio::test]
async fn the_stream_form_yields_the_same_records_as_the_recv_loop() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-stream", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    produce(bootstrap, &topic.name, 0, 20, None).await.unwrap();
    let consumer = join(bootstrap, &topic.name, &unique_name("g"), Some("earliest")).unwrap();
    let records = tokio::time::timeout(
        SETTLE,
        read_stream(&consumer, &CancellationToken::new(), 20),
    )
    .await
    .unwrap()
    .unwrap();
    let payloads: Vec<String> = records.iter().map(payload).collect();
    let expected: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(payloads, expected, "one partition: the order of production");
}

/// The first record a member of `group` receives from partition 0 of `topic`.
async fn first_offset_seen(bootstrap: &str, topic: &str, group: &str, reset: &str) -> i64 {
    use rdkafka::consumer::Consumer;
    let member = join(bootstrap, topic, group, Some(reset)).unwrap();
    let message = tokio::time::timeout(SETTLE, member.recv())
        .await
        .expect("a record within 30 s")
        .unwrap();
    let offset = message.offset();
    drop(message);
    member.unsubscribe();
    tokio::task::spawn_blocking(move || drop(member))
        .await
        .unwrap();
    offset
}

/// `auto.offset.reset` applies only where the group has no committed
/// offset: a group that committed 4 starts at 4 whatever the setting.
#[tokio::test]
async fn a_group_with_a_committed_offset_ignores_auto_offset_reset() {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-committed", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    produce(bootstrap, &topic.name, 0, 10, None).await.unwrap();
    let group = unique_name("g");
    let committer: BaseConsumer = ch03_reader::lesson::group_config(bootstrap, &group, None)
        .create()
        .unwrap();
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset(&topic.name, 0, Offset::Offset(4))
        .unwrap();
    // On a fresh broker the group's coordinator may still be loading its
    // offsets partition: NotCoordinator is retriable, ask again (bounded).
    let mut attempt = 0;
    while let Err(error) = committer.commit(&offsets, CommitMode::Sync) {
        attempt += 1;
        assert!(attempt < 20, "commit kept failing: {error}");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    drop(committer);
    for reset in ["earliest", "latest"] {
        assert_eq!(
            first_offset_seen(bootstrap, &topic.name, &group, reset).await,
            4,
            "auto.offset.reset={reset}: the committed offset wins"
        );
    }
    // The same settings in a group without a commit: the reset decides.
    let fresh = unique_name("g");
    assert_eq!(
        first_offset_seen(bootstrap, &topic.name, &fresh, "earliest").await,
        0
    );
}

/// `assign` takes no part in a group: two consumers that assign the same
/// partition — even with the same group.id — each read all of it.
#[tokio::test]
async fn two_consumers_that_assign_the_same_partition_each_read_all_of_it() {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::{Offset, TopicPartitionList};
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-assign-twice", 1, 1).await;
    let bootstrap = cluster.bootstrap_servers();
    produce(bootstrap, &topic.name, 0, 20, None).await.unwrap();
    let group = unique_name("g");
    let mut counts = Vec::new();
    let consumers: Vec<StreamConsumer> = (0..2)
        .map(|_| {
            let consumer: StreamConsumer =
                ch03_reader::lesson::group_config(bootstrap, &group, None)
                    .create()
                    .unwrap();
            let mut assignment = TopicPartitionList::new();
            assignment
                .add_partition_offset(&topic.name, 0, Offset::Beginning)
                .unwrap();
            consumer.assign(&assignment).unwrap();
            consumer
        })
        .collect();
    for consumer in &consumers {
        let mut seen = 0;
        while seen < 20 {
            tokio::time::timeout(SETTLE, consumer.recv())
                .await
                .expect("the partition's records within 30 s")
                .unwrap();
            seen += 1;
        }
        counts.push(seen);
    }
    assert_eq!(counts, vec![20, 20], "each read every record");
    tokio::task::spawn_blocking(move || drop(consumers))
        .await
        .unwrap();
}

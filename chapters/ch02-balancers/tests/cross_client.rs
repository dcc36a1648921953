//! The same key from different clients: Kafka's Java client and kafka-go
//! against librdkafka's partitioners, all writing to a real Apache Kafka
//! broker. These tests need Java 17+ with the Kafka jars (`cargo xtask kafka
//! up` fetches them) and Go; without them they fail saying what is missing.

use ch02_balancers::lab::java::java_placements;
use ch02_balancers::lab::kafka_go::{
    GoBalancer, GoHashBalancer, kafka_go_balance, kafka_go_hash, kafka_go_placements,
    kafka_go_write,
};
use ch02_balancers::lab::reference;
use ch02_balancers::placements;
use tutorial_lab::testing::{TestTopic, test_cluster};

const KEYS: [&str; 12] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "sybil",
];

#[tokio::test]
async fn the_java_client_agrees_with_murmur2_random_but_not_with_librdkafkas_default() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let java_topic = TestTopic::create(&cluster, "ch02-java", 3, 1).await;
    let java = java_placements(bootstrap, &java_topic.name, &KEYS)
        .await
        .unwrap_or_else(|e| panic!("the Java side of the comparison: {e:#}"));
    let topic = TestTopic::create(&cluster, "ch02-rust", 3, 1).await;
    let murmur2 = placements(bootstrap, &topic.name, "murmur2_random", &KEYS)
        .await
        .unwrap();
    let default = placements(bootstrap, &topic.name, "consistent_random", &KEYS)
        .await
        .unwrap();
    println!("Java client:       {java:?}");
    println!("murmur2_random:    {murmur2:?}");
    println!("consistent_random: {default:?}");
    assert_eq!(
        java, murmur2,
        "murmur2_random puts every key where Java does"
    );

    let differ: Vec<&str> = KEYS
        .into_iter()
        .filter(|k| java[*k] != default[*k])
        .collect();
    println!(
        "Java vs librdkafka's default: {} of {} keys differ: {differ:?}",
        differ.len(),
        KEYS.len()
    );
    assert!(
        !differ.is_empty(),
        "the default (CRC32) disagrees with Java for some keys"
    );
    // And exactly where the two hashes say they should.
    let predicted: Vec<&str> = KEYS
        .into_iter()
        .filter(|k| {
            reference::murmur2_partition(k.as_bytes(), 3)
                != reference::crc32_partition(k.as_bytes(), 3)
        })
        .collect();
    assert_eq!(differ, predicted);
}

#[tokio::test]
async fn fnv1a_random_agrees_with_kafka_gos_hash_balancer() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let go = kafka_go_hash(&KEYS, 3)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let go_topic = TestTopic::create(&cluster, "ch02-go-hash", 3, 1).await;
    let go_on_broker = kafka_go_placements(bootstrap, &go_topic.name, GoBalancer::Hash, &KEYS)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let topic = TestTopic::create(&cluster, "ch02-fnv", 3, 1).await;
    let fnv1a = placements(bootstrap, &topic.name, "fnv1a_random", &KEYS)
        .await
        .unwrap();
    let default = placements(bootstrap, &topic.name, "consistent_random", &KEYS)
        .await
        .unwrap();
    println!("kafka-go Hash.Balance:         {go:?}");
    println!("kafka-go Writer{{Hash}} (broker): {go_on_broker:?}");
    println!("fnv1a_random:                  {fnv1a:?}");
    assert_eq!(
        go, go_on_broker,
        "the Writer places records where Hash.Balance says"
    );
    assert_eq!(
        fnv1a, go_on_broker,
        "fnv1a_random puts every key where kafka-go's Hash does"
    );
    let differ: Vec<&str> = KEYS.into_iter().filter(|k| go[*k] != default[*k]).collect();
    println!(
        "kafka-go Hash vs librdkafka's default: {} of {} keys differ: {differ:?}",
        differ.len(),
        KEYS.len()
    );
    assert!(
        !differ.is_empty(),
        "the default (CRC32) disagrees with kafka-go's Hash for some keys"
    );
}

#[tokio::test]
async fn kafka_gos_default_writer_ignores_keys_and_spreads_one_key_over_every_partition() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch02-go-default", 3, 1).await;
    let keys = ["alice"; 6];
    let read = kafka_go_write(
        cluster.bootstrap_servers(),
        &topic.name,
        GoBalancer::WriterDefault,
        &keys,
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let partitions: Vec<i32> = read.iter().map(|l| l.partition).collect();
    println!(
        "kafka-go Writer{{}} (Balancer unset), key alice ×6, partitions in write order: {partitions:?}"
    );
    assert!(read.iter().all(|l| l.key == "alice"));
    assert_eq!(
        partitions,
        vec![0, 1, 2, 0, 1, 2],
        "one key, every partition in turn: the default balancer is round-robin and ignores keys"
    );
}

#[tokio::test]
async fn kafka_gos_murmur2_and_crc32_balancers_agree_with_murmur2_random_and_consistent_random() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "ch02-go-balancers", 3, 1).await;
    for (balancer, partitioner) in [
        (GoHashBalancer::Murmur2, "murmur2_random"),
        (GoHashBalancer::Crc32, "consistent_random"),
    ] {
        let go = kafka_go_balance(balancer, &KEYS, 3)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let ours = placements(bootstrap, &topic.name, partitioner, &KEYS)
            .await
            .unwrap();
        println!("kafka-go {balancer:?}: {go:?}");
        assert_eq!(
            go, ours,
            "kafka-go {balancer:?} puts every key where {partitioner} does"
        );
    }
}

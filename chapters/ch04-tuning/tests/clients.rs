//! The lesson's producer and consumer loops deliver and read every record,
//! with every producer type and every compression codec of the matrix.

use std::time::Duration;

use ch04_tuning::lab::{PAYLOAD_SEED, payload};
use ch04_tuning::lesson::{
    Acks, Compression, ConsumerSettings, Load, Measured, ProducerSettings, fast_consumer,
    large_records, low_latency, run_base, run_consumer, run_future, run_future_window, run_permits,
    run_threaded, small_records,
};
use tutorial_lab::testing::{TestTopic, read_all, test_cluster, unique_name, within};

const LIMIT: Duration = Duration::from_secs(60);

/// Which lesson function sends.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Base,
    Threaded,
    Future,
    FutureWindow,
    Permits,
}

/// One run of a lesson send loop (`record_size`-byte records), bounded by `LIMIT`.
async fn produce(
    topic: &str,
    records: u64,
    record_size: usize,
    settings: &ProducerSettings,
    kind: Kind,
) -> anyhow::Result<Measured> {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers().to_string();
    let (topic, settings) = (topic.to_string(), settings.clone());
    let value = payload(record_size, PAYLOAD_SEED);
    within(LIMIT, "the producer run", async move {
        let load = Load {
            records,
            payload: &value,
            rate: 0,
        };
        match kind {
            Kind::Future => run_future(&bootstrap, &topic, &settings, load).await,
            Kind::FutureWindow => run_future_window(&bootstrap, &topic, &settings, load).await,
            Kind::Permits => run_permits(&bootstrap, &topic, &settings, load).await,
            // The blocking loops run off the async runtime, as the lesson says.
            Kind::Base | Kind::Threaded => {
                let value = value.clone();
                tokio::task::spawn_blocking(move || {
                    let load = Load {
                        payload: &value,
                        ..load
                    };
                    match kind {
                        Kind::Base => run_base(&bootstrap, &topic, &settings, load),
                        _ => run_threaded(&bootstrap, &topic, &settings, load),
                    }
                })
                .await?
            }
        }
    })
    .await
}

#[tokio::test]
async fn every_producer_type_delivers_every_record_once() {
    let cluster = test_cluster();
    let settings = ProducerSettings::default();
    for kind in [Kind::Base, Kind::Threaded, Kind::Future] {
        let topic = TestTopic::create(&cluster, "ch04-kinds", 3, 1).await;
        let result = produce(&topic.name, 3000, 100, &settings, kind)
            .await
            .unwrap();
        assert_eq!((result.records, result.bytes), (3000, 300_000), "{kind:?}");
        let latency = result.latency.expect("latency percentiles");
        assert!(
            latency.p50_ms <= latency.p99_ms && latency.p99_ms <= latency.p999_ms,
            "{kind:?}: {latency:?}"
        );
        let records = read_all(&cluster, &topic.name, 3000, LIMIT).await;
        assert_eq!(records.len(), 3000, "{kind:?}");
        assert!(records.iter().all(|r| r.payload.len() == 100), "{kind:?}");
    }
}

#[tokio::test]
async fn the_async_patterns_and_the_recommended_settings_deliver_every_record() {
    // The two async patterns of async_send.rs with librdkafka's defaults,
    // and the recommended settings of config.rs with ThreadedProducer (as
    // the page recommends), each on a fresh topic, every record read back.
    let cluster = test_cluster();
    let runs = [
        (Kind::Permits, ProducerSettings::default(), 100),
        (Kind::FutureWindow, ProducerSettings::default(), 100),
        (Kind::Threaded, small_records(), 1000),
        (Kind::Threaded, large_records(), 10_000),
        (Kind::Threaded, low_latency(), 1000),
    ];
    for (kind, settings, size) in runs {
        let topic = TestTopic::create(&cluster, "ch04-recommended", 3, 1).await;
        let result = produce(&topic.name, 2000, size, &settings, kind)
            .await
            .unwrap_or_else(|e| panic!("{kind:?} {settings:?}: {e:#}"));
        assert_eq!(result.records, 2000, "{kind:?} {settings:?}");
        assert!(result.latency.is_some(), "{kind:?}: no latencies");
        let records = read_all(&cluster, &topic.name, 2000, LIMIT).await;
        assert_eq!(records.len(), 2000, "{kind:?} {settings:?}");
        assert!(records.iter().all(|r| r.payload.len() == size), "{kind:?}");
    }
    // The recommended consumer reads them all too.
    let topic = TestTopic::create(&cluster, "ch04-recommended-read", 3, 1).await;
    produce(&topic.name, 2000, 100, &small_records(), Kind::Threaded)
        .await
        .unwrap();
    let (bootstrap, name) = (cluster.bootstrap_servers().to_string(), topic.name.clone());
    let group = unique_name("ch04-recommended");
    let read = tokio::task::spawn_blocking(move || {
        run_consumer(&bootstrap, &name, &group, 2000, &fast_consumer())
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(read.records, 2000);
}

#[tokio::test]
async fn every_codec_round_trips_through_the_broker() {
    let cluster = test_cluster();
    for compression in Compression::ALL {
        let topic = TestTopic::create(&cluster, "ch04-codec", 1, 1).await;
        let settings = ProducerSettings {
            compression,
            ..ProducerSettings::default()
        };
        let result = produce(&topic.name, 500, 1000, &settings, Kind::Base)
            .await
            .unwrap_or_else(|e| panic!("{compression:?}: {e:#}"));
        assert_eq!(result.records, 500);
        let records = read_all(&cluster, &topic.name, 500, LIMIT).await;
        let expected = String::from_utf8(payload(1000, PAYLOAD_SEED)).unwrap();
        assert!(
            records.iter().all(|r| r.payload == expected),
            "{compression:?}"
        );
    }
}

#[tokio::test]
async fn acks_and_idempotence_settings_of_the_matrix_are_accepted() {
    let cluster = test_cluster();
    for (acks, idempotence) in [(Acks::One, false), (Acks::Zero, false), (Acks::All, true)] {
        let topic = TestTopic::create(&cluster, "ch04-acks", 1, 1).await;
        let settings = ProducerSettings {
            acks,
            idempotence,
            ..ProducerSettings::default()
        };
        let result = produce(&topic.name, 1000, 100, &settings, Kind::Base)
            .await
            .unwrap_or_else(|e| panic!("{acks:?} idempotence={idempotence}: {e:#}"));
        assert_eq!(result.records, 1000);
    }
}

#[tokio::test]
async fn the_consumer_reads_every_record_with_each_fetch_setting() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-read", 3, 1).await;
    produce(
        &topic.name,
        4000,
        200,
        &ProducerSettings::default(),
        Kind::Base,
    )
    .await
    .unwrap();
    for settings in [
        ConsumerSettings::default(),
        ConsumerSettings {
            fetch_min_bytes: 1_048_576,
            fetch_wait_max_ms: 100,
            queued_max_messages_kbytes: 1024,
            fetch_queue_backoff_ms: 10,
            ..ConsumerSettings::default()
        },
    ] {
        let bootstrap = cluster.bootstrap_servers().to_string();
        let name = topic.name.clone();
        let group = unique_name("ch04-read");
        let result = tokio::task::spawn_blocking(move || {
            run_consumer(&bootstrap, &name, &group, 4000, &settings)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!((result.records, result.bytes), (4000, 4000 * 200));
    }
}

#[test]
fn librdkafka_defaults_named_on_this_page() {
    let bare = rdkafka::ClientConfig::new();
    let settings = tutorial_support::settings::effective(
        &bare,
        &[
            "linger.ms",
            "batch.size",
            "batch.num.messages",
            "queue.buffering.max.messages",
            "queue.buffering.max.kbytes",
            "compression.type",
            "sticky.partitioning.linger.ms",
            "fetch.min.bytes",
            "fetch.wait.max.ms",
            "queued.min.messages",
            "queued.max.messages.kbytes",
            "fetch.queue.backoff.ms",
            "max.partition.fetch.bytes",
        ],
    )
    .unwrap();
    let values: Vec<(&str, &str)> = settings
        .iter()
        .map(|s| (s.key.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("linger.ms", "5"),
            ("batch.size", "1000000"),
            ("batch.num.messages", "10000"),
            ("queue.buffering.max.messages", "100000"),
            ("queue.buffering.max.kbytes", "1048576"),
            ("compression.type", "none"),
            ("sticky.partitioning.linger.ms", "10"),
            ("fetch.min.bytes", "1"),
            ("fetch.wait.max.ms", "500"),
            ("queued.min.messages", "100000"),
            ("queued.max.messages.kbytes", "65536"),
            ("fetch.queue.backoff.ms", "1000"),
            ("max.partition.fetch.bytes", "1048576"),
        ]
    );
}

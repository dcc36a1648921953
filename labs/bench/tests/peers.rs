//! The Go peers map librdkafka's settings onto their own clients' fields
//! (in Go, next to the Writer / kgo.Client they configure): checked with
//! each program's `describe` mode, which prints the mapping without
//! connecting.

use std::time::Duration;

use bench_lab::clients::go::{FRANZ_GO, GoPeer, KAFKA_GO};
use bench_lab::clients::{ConsumerSpec, ProducerSpec, RunSpec, Work};
use ch04_tuning::lesson::{Acks, Compression};
use tutorial_lab::process::run_bounded;

fn describe_with(peer: GoPeer, work: Work) -> serde_json::Value {
    let binary = peer.build().expect("build the Go program");
    let spec = RunSpec {
        client: peer.client,
        bootstrap: "localhost:1".into(),
        topic: "t".into(),
        records: 10,
        work,
    };
    let command = peer.describe(&binary, &spec).unwrap();
    let captured = run_bounded(command, Duration::from_secs(30), "Go describe", "").unwrap();
    assert!(captured.success(), "{}", captured.text());
    serde_json::from_str(captured.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {}", captured.text()))
}

fn describe(work: Work) -> serde_json::Value {
    describe_with(KAFKA_GO, work)
}

#[test]
fn go_batching_follows_the_librdkafka_settings() {
    // BatchSize = batch.size / record size (at most batch.num.messages);
    // linger.ms = 0 becomes the shortest timer, since kafka-go reads a
    // zero BatchTimeout as "the default, 1 s".
    let writer = describe(Work::Produce(ProducerSpec {
        record_size: 1000,
        linger_ms: 0,
        ..ProducerSpec::default()
    }));
    assert_eq!(writer["batch_size"], 1000, "{writer}");
    assert_eq!(writer["batch_bytes"], 1_000_000, "{writer}");
    assert_eq!(writer["batch_timeout"], "1µs", "{writer}");
    assert_eq!(writer["required_acks"], "all", "{writer}");

    let small = describe(Work::Produce(ProducerSpec {
        record_size: 10,
        linger_ms: 20,
        compression: Compression::Zstd,
        acks: Acks::One,
        ..ProducerSpec::default()
    }));
    assert_eq!(
        small["batch_size"], 10_000,
        "capped by batch.num.messages: {small}"
    );
    assert_eq!(small["batch_timeout"], "20ms", "{small}");
    assert_eq!(small["required_acks"], "one", "{small}");
    assert_eq!(small["compression"], "zstd", "{small}");
}

#[test]
fn go_reader_and_sync_writer_follow_the_spec() {
    let reader = describe(Work::Consume {
        group: "g".into(),
        settings: ConsumerSpec {
            fetch_min_bytes: 65_536,
            fetch_wait_max_ms: 100,
            ..ConsumerSpec::default()
        },
    });
    assert_eq!(reader["min_bytes"], 65_536, "{reader}");
    assert_eq!(reader["max_wait"], "100ms", "{reader}");
    let default = describe(Work::SyncSends { linger_ms: None });
    assert_eq!(
        default["batch_timeout"], "1s",
        "kafka-go's default: {default}"
    );
    let short = describe(Work::SyncSends { linger_ms: Some(5) });
    assert_eq!(short["batch_timeout"], "5ms", "{short}");
}

#[test]
fn franz_go_gets_the_same_producer_and_consumer_settings() {
    // linger.ms, batch.size, acks and the codec as franz-go options; with
    // idempotence off franz-go would allow one request in flight per
    // broker, so the program allows five (the Java client's default).
    let producer = describe_with(
        FRANZ_GO,
        Work::Produce(ProducerSpec {
            linger_ms: 20,
            compression: Compression::Lz4,
            ..ProducerSpec::default()
        }),
    );
    assert_eq!(producer["linger"], "20ms", "{producer}");
    assert_eq!(producer["batch_max_bytes"], 1_000_000, "{producer}");
    assert_eq!(producer["acks"], "all", "{producer}");
    assert_eq!(producer["idempotent"], false, "{producer}");
    assert_eq!(producer["in_flight_per_broker"], 5, "{producer}");
    assert_eq!(producer["compression"], "lz4", "{producer}");
    assert_eq!(producer["max_buffered_records"], 100_000, "{producer}");

    let idempotent = describe_with(
        FRANZ_GO,
        Work::Produce(ProducerSpec {
            idempotence: true,
            ..ProducerSpec::default()
        }),
    );
    assert_eq!(idempotent["idempotent"], true, "{idempotent}");

    let consumer = describe_with(
        FRANZ_GO,
        Work::Consume {
            group: "g".into(),
            settings: ConsumerSpec {
                fetch_min_bytes: 65_536,
                fetch_wait_max_ms: 100,
                ..ConsumerSpec::default()
            },
        },
    );
    assert_eq!(consumer["fetch_min_bytes"], 65_536, "{consumer}");
    assert_eq!(consumer["fetch_max_wait"], "100ms", "{consumer}");
}

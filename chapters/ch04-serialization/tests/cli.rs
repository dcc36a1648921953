//! The binary as a reader runs it.

use std::process::Command;
use std::time::Duration;

use ch04_serialization::bench;
use ch04_serialization::pb::v1;
use ch04_serialization::{avro, sample_click};
use nix::sys::signal::Signal;
use prost::Message;
use tutorial_lab::testing::{
    ChildProcess, TestTopic, assert_fails_fast_without_broker, committed_offset, test_cluster,
    unique_name,
};

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-serialization"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

#[test]
fn the_showcase_runs_end_to_end_on_the_real_broker() {
    let cluster = test_cluster();
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", cluster.bootstrap_servers())
        .args(["--bench-records", "2000"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    for needle in [
        "enable.idempotence = true",
        "key=user-0000 248 B  protobuf v1 -> View \"Wireless Headphones X2\", 3 tags, referrer set",
        "refused: content-type \"application/json\": this consumer decodes only \"application/x-protobuf\"",
        "key=user-0000 248 B  avro v1 -> View",
        "protobuf writer v2 -> reader v1: ok, referrer = None",
        "protobuf writer v1 -> reader v2: ok, session_id = \"\"",
        "avro     writer v2 -> reader v1: ok, referrer = None",
        "avro     writer v1 -> reader v2: ok, session_id = \"\"",
        "NO error, campaign = \"https://www.google.com/search?…\"  (silently wrong)",
        "error: Avro: Missing field in record: \"session_id\"",
        "NO error, duration_ms = 1, session_id =",
        "protobuf (prost)",
        "json (serde_json)",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
}

/// The table's shape and its sizes; speeds are printed, never asserted.
#[test]
fn the_size_table_is_well_formed_and_binary_formats_are_smaller_than_json() {
    let records = 500;
    let rows = bench::measure(records).unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.format).collect();
    assert_eq!(
        names,
        [
            "protobuf (prost)",
            "avro (single-object, resolving)",
            "avro (writer schema only)",
            "json (serde_json)"
        ]
    );
    // Sizes recomputed independently of the bench code.
    let clicks: Vec<_> = (0..records as u64).map(sample_click).collect();
    let protobuf: usize = clicks
        .iter()
        .map(|c| v1::ClickEvent::from(c).encoded_len())
        .sum();
    let writer = avro::AvroWriter::new(&avro::V1).unwrap();
    let avro: usize = clicks.iter().map(|c| writer.encode(c).unwrap().len()).sum();
    let json: usize = clicks
        .iter()
        .map(|c| serde_json::to_vec(c).unwrap().len())
        .sum();
    assert_eq!(rows[0].bytes, protobuf);
    assert_eq!(rows[1].bytes, avro);
    assert_eq!(rows[3].bytes, json);
    assert!(
        protobuf < json && avro < json,
        "protobuf {protobuf}, avro {avro}, json {json}"
    );
    assert!(
        rows.iter()
            .all(|r| r.records == records && r.encode_per_sec > 0.0 && r.decode_per_sec > 0.0)
    );

    let table = bench::render(&rows);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(
        lines[0].contains("bytes/record") && lines[0].contains("vs JSON"),
        "{table}"
    );
    assert!(lines[4].contains("100%"), "JSON is the 100% row:\n{table}");
    let protobuf_per_record = format!("{:.1}", protobuf as f64 / records as f64);
    assert!(lines[1].contains(&protobuf_per_record), "{table}");
}

/// The consume subcommand, stopped with SIGTERM, commits what it handled.
#[tokio::test]
async fn the_consumer_commits_what_it_decoded_on_sigterm() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch04-sigterm", 1, 1).await;
    let mut produce = chapter();
    produce.args([
        "produce",
        "--brokers",
        cluster.bootstrap_servers(),
        "--topic",
        &topic.name,
        "--count",
        "7",
    ]);
    let mut producer = ChildProcess::spawn(produce);
    assert!(
        producer.wait(Duration::from_secs(60)).success(),
        "{}",
        producer.transcript()
    );

    let group = unique_name("ch04-sigterm");
    let mut consume = chapter();
    consume.args([
        "consume",
        "--brokers",
        cluster.bootstrap_servers(),
        "--topic",
        &topic.name,
        "--group",
        &group,
    ]);
    let mut consumer = ChildProcess::spawn(consume);
    consumer.wait_for_line("p0@6", Duration::from_secs(60));
    consumer.signal(Signal::SIGTERM);
    assert!(
        consumer.wait(Duration::from_secs(30)).success(),
        "{}",
        consumer.transcript()
    );
    assert!(
        consumer
            .transcript()
            .contains("consumer stopped: 7 records, 7 decoded, 0 refused"),
        "{}",
        consumer.transcript()
    );

    assert_eq!(
        committed_offset(cluster.bootstrap_servers(), &topic.name, &group),
        Some(7)
    );
}

#[test]
fn an_unreachable_broker_fails_fast_with_the_address() {
    assert_fails_fast_without_broker(chapter());
}

//! The binary as a reader runs it. Assertions are on its `summary:` lines,
//! not on the prose around them.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use ch04_serialization::lab::bench;
use ch04_serialization::lab::samples::sample_click;
use ch04_serialization::lesson::avro;
use ch04_serialization::lesson::protobuf::pb::v1;
use nix::sys::signal::Signal;
use prost::Message;
use tutorial_lab::{
    ChildProcess, TestTopic, assert_fails_fast_without_broker, committed_offset, test_cluster,
    unique_name,
};
use tutorial_support::parse_summary;

fn chapter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch04-serialization"));
    command.env("RUST_LOG", "warn,librdkafka=off");
    command
}

/// The `summary: STEP` line of `output`, or a failure showing the output.
fn step(output: &str, name: &str) -> BTreeMap<String, String> {
    parse_summary(output, name).unwrap_or_else(|| panic!("no `summary: {name}` in:\n{output}"))
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

    assert_eq!(step(&output, "settings")["enable.idempotence"], "true");

    // ① 4 events as Protobuf (event 0 is 248 bytes), and one JSON record
    // refused by its content-type before decoding.
    let protobuf = step(&output, "protobuf-round-trip");
    assert_eq!(protobuf["sent"], "4", "{output}");
    assert_eq!(protobuf["decoded"], "4", "{output}");
    assert_eq!(protobuf["refused"], "1", "{output}");
    assert_eq!(protobuf["refused_content_types"], "application/json");
    assert_eq!(protobuf["event0_bytes"], "248");

    // ② the same 4 events as Avro single-object encoding.
    let avro_step = step(&output, "avro-round-trip");
    assert_eq!(avro_step["decoded"], "4", "{output}");
    assert_eq!(avro_step["refused"], "0", "{output}");
    assert_eq!(avro_step["event0_bytes"], "248");
    assert_eq!(
        step(&output, "avro-fingerprint")["v1"],
        avro::hex(&avro::fingerprint(&avro::V1))
    );

    // ③ old and new readers read each other's records, in both formats: the
    // removed field reads as none, the added one as "".
    for format in ["protobuf", "avro"] {
        let matrix = step(&output, &format!("evolution-{format}"));
        for cell in ["w1r1", "w2r1", "w1r2", "w2r2"] {
            assert_eq!(matrix[cell], "ok", "{format} {cell}: {output}");
        }
        assert_eq!(matrix["w2r1_referrer"], "none", "{format}");
        assert_eq!(matrix["w1r2_session_id"], "\"\"", "{format}");
    }

    // The incompatible changes: two misread silently, three fail.
    let broken = step(&output, "incompatible");
    assert_eq!(broken["protobuf_reused_number"], "no-error");
    assert_eq!(broken["campaign_is_referrer"], "true");
    assert_eq!(broken["protobuf_changed_type"], "error");
    assert_eq!(broken["avro_no_default"], "error");
    assert_eq!(broken["avro_no_default_missing_field"], "true");
    assert_eq!(broken["avro_type_change"], "error");
    assert_eq!(broken["avro_assumed_writer"], "no-error");
    assert_eq!(broken["assumed_writer_duration_ms"], "1");
    assert_eq!(broken["assumed_writer_session_is_referrer"], "true");

    // ④ the table: four formats, both binary formats smaller than JSON.
    let table = step(&output, "bench");
    assert_eq!(table["records"], "2000");
    assert_eq!(table["formats"], "4");
    let bytes = |key: &str| table[key].parse::<f64>().unwrap();
    assert!(bytes("protobuf_bytes") < bytes("json_bytes"), "{table:?}");
    assert!(bytes("avro_bytes") < bytes("json_bytes"), "{table:?}");
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
    assert_eq!(step(&producer.transcript(), "produce")["records"], "7");

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
    // Each record is printed as `p<partition>@<offset> …`: wait for the last one.
    consumer.wait_for_line("p0@6", Duration::from_secs(60));
    consumer.signal(Signal::SIGTERM);
    assert!(
        consumer.wait(Duration::from_secs(30)).success(),
        "{}",
        consumer.transcript()
    );
    let stopped = step(&consumer.transcript(), "consume");
    assert_eq!(
        (
            stopped["records"].as_str(),
            stopped["decoded"].as_str(),
            stopped["refused"].as_str()
        ),
        ("7", "7", "0"),
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

/// A reader without a broker can run the whole showcase on librdkafka's mock
/// cluster (`KAFKA_BROKERS=mock`): this chapter needs nothing the mock lacks
/// (topics are created through the mock's own API). The claims themselves
/// are proven on the real broker above.
#[test]
fn the_showcase_also_runs_on_the_mock_cluster() {
    let mut command = chapter();
    command
        .env("KAFKA_BROKERS", "mock")
        .args(["--bench-records", "200"]);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(120));
    let output = child.transcript();
    assert!(status.success(), "{output}");
    assert_eq!(step(&output, "protobuf-round-trip")["decoded"], "4");
    assert_eq!(step(&output, "avro-round-trip")["decoded"], "4");
    assert_eq!(step(&output, "evolution-avro")["w1r2"], "ok");
    assert_eq!(step(&output, "bench")["formats"], "4");
}

//! The bench end to end on the real broker with a tiny matrix: our three
//! producers, the Java perf tools, kafka-go and franz-go all run, every record is
//! accounted for, and the tables, the JSON report and the SVG charts are
//! well-formed. No timing is asserted: performance is what `cargo xtask
//! bench` prints, not a test verdict.

use std::process::Command;
use std::time::Duration;

use bench_lab::clients::Client;
use bench_lab::report::{BenchReport, parse_ratio_table};
use tutorial_lab::testing::{ChildProcess, test_cluster, unique_name};

#[test]
fn a_tiny_matrix_runs_every_client_and_writes_tables_and_charts() {
    let cluster = test_cluster();
    let dir = std::env::temp_dir().join(unique_name("bench-lab-test"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_bench-lab"));
    command
        .env("RUST_LOG", "warn,librdkafka=off")
        .args([
            "bench",
            "--mode",
            "tiny",
            "--brokers",
            cluster.bootstrap_servers(),
        ])
        .arg("--out-dir")
        .arg(&dir)
        .arg("--charts-dir")
        .arg(&dir);
    let mut child = ChildProcess::spawn(command);
    let status = child.wait(Duration::from_secs(240));
    let output = child.transcript();
    assert!(status.success(), "{output}");

    // The ratio table: ours ÷ each peer, for producing and consuming.
    let ratios = parse_ratio_table(&output);
    for (ours, peer) in [
        ("BaseProducer", "Java"),
        ("BaseProducer", "kafka-go"),
        ("BaseProducer", "franz-go"),
        ("ThreadedProducer recommended", "kafka-go"),
        ("ThreadedProducer recommended", "franz-go"),
        ("ThreadedProducer recommended x2", "franz-go"),
        ("ThreadedProducer", "BaseProducer"),
        ("FutureProducer", "BaseProducer"),
        ("ThreadedProducer permits", "BaseProducer"),
        ("BaseConsumer", "Java"),
        ("BaseConsumer", "kafka-go"),
        ("BaseConsumer", "franz-go"),
        ("BaseConsumer recommended", "franz-go"),
    ] {
        let row = ratios
            .iter()
            .find(|(_, o, p, _)| o == ours && p == peer)
            .unwrap_or_else(|| panic!("no {ours} ÷ {peer} row in:\n{output}"));
        // A tiny run can print 0.00: a Go consumer that gets every record in
        // its first fetch measures almost no time between the first and
        // the last record. The JSON check below insists on real rates.
        assert!(row.3.is_finite() && row.3 >= 0.0, "{row:?}");
    }

    // The JSON report: every client of every configuration delivered or
    // read every record, with non-zero rates and CPU time.
    let json = std::fs::read_to_string(dir.join("bench-tiny.json")).expect("bench-tiny.json");
    let report: BenchReport = serde_json::from_str(&json).expect("a parseable report");
    assert_eq!(report.produce.len(), 1);
    assert_eq!(report.consume.len(), 1);
    for case in report.produce.iter().chain(&report.consume) {
        let clients: Vec<Client> = case.clients.iter().map(|c| c.client).collect();
        assert!(
            clients.contains(&Client::JavaPerf)
                && clients.contains(&Client::KafkaGo)
                && clients.contains(&Client::FranzGo),
            "{clients:?}"
        );
        for client in &case.clients {
            assert!(!client.samples.is_empty(), "{}: no samples", client.label);
            for sample in &client.samples {
                assert_eq!(sample.result.records, case.records, "{}", client.label);
                assert_eq!(sample.result.errors, 0, "{}", client.label);
                assert!(sample.cpu_seconds > 0.0, "{}: no CPU time", client.label);
            }
            assert!(client.records_per_second > 0.0, "{}", client.label);
        }
    }
    for producer in &report.produce[0].clients {
        assert!(
            producer.p50_ms.is_some_and(|v| v > 0.0) && producer.p999_ms.is_some(),
            "{}: latency percentiles missing",
            producer.label
        );
    }
    // The synchronous-send trap ran for kafka-go and for librdkafka.
    assert_eq!(report.trap.len(), 4, "{:?}", report.trap);
    assert!(report.trap.iter().all(|t| t.per_call_ms > 0.0));

    // The charts: valid SVG, one legend entry per client.
    let svg = std::fs::read_to_string(dir.join("ch04-tuning-record-size.svg")).expect("chart");
    let document = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for series in [
        "BaseProducer",
        "ThreadedProducer",
        "FutureProducer",
        "Java",
        "kafka-go",
        "franz-go",
    ] {
        assert!(
            texts.contains(&series),
            "no legend entry {series} in {texts:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! The pipeline on one broker: a run, a Ctrl-C, a rerun that continues,
//! and the audit; the sink facing a locked or unusable database.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ch05_pipeline::lab::audit;
use ch05_pipeline::lab::stages::Topics;
use ch05_pipeline::lesson::results::{Kind, WindowResult, encode};
use ch05_pipeline::lesson::sink;
use ch05_pipeline::lesson::windows::Windowing;
use nix::sys::signal::Signal;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tutorial_lab::testing::{ChildProcess, summary_of, test_cluster, unique_name};

fn pipeline(brokers: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ch05-pipeline"));
    command.args(args).env("KAFKA_BROKERS", brokers);
    command
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name(name));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Interrupted with Ctrl-C mid-run, then run again: the rerun continues
/// the event ids, and the audit finds every event counted exactly once and
/// every bad record in the dead-letter topic once.
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_then_rerun_loses_nothing_and_counts_nothing_twice() {
    let cluster = test_cluster();
    let brokers = cluster.bootstrap_servers().to_string();
    let dir = scratch("ch05-run");
    let prefix = unique_name("ch05-test");
    let data = dir.display().to_string();
    let args = [
        "--prefix",
        &prefix,
        "--data-dir",
        &data,
        "--rate",
        "2000",
        "--bad-every",
        "500",
    ];

    let mut first = ChildProcess::spawn(pipeline(
        &brokers,
        &[&args[..], &["--seconds", "0"]].concat(),
    ));
    first.wait_for_line("pipeline: metrics", Duration::from_secs(60));
    // Let events flow for a while, then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !first.transcript().contains("events counted") || !counted_some(&dir) {
        assert!(Instant::now() < deadline, "{}", first.transcript());
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    first.signal(Signal::SIGINT);
    let output = first.finish(Duration::from_secs(90)).unwrap();
    assert_eq!(
        summary_of(&output, "pipeline")["interrupted"],
        "true",
        "{output}"
    );

    let mut second = ChildProcess::spawn(pipeline(
        &brokers,
        &[&args[..], &["--seconds", "2"]].concat(),
    ));
    let output = second.finish(Duration::from_secs(180)).unwrap();
    let run = summary_of(&output, "pipeline");
    assert_eq!(run["interrupted"], "false");
    assert_eq!(run["transformed"], run["total_input"], "{output}");
    let ingest_log = std::fs::read_to_string(dir.join("logs/ingest.log")).unwrap();
    let first_id: u64 = summary_of(&ingest_log, "ingest")["first_id"]
        .parse()
        .unwrap();
    assert!(first_id > 0, "the rerun continues the ids:\n{ingest_log}");

    let topics = Topics {
        prefix,
        partitions: 6,
    };
    let db = dir.join("pipeline.db");
    let windowing = Windowing {
        size_ms: 1000,
        grace_ms: 0,
    };
    let (b, e, d) = (brokers.clone(), topics.events(), topics.dlq());
    let found = tokio::task::spawn_blocking(move || audit::audit(&b, &e, &d, &db, windowing))
        .await
        .unwrap()
        .unwrap();
    assert!(
        found.bad_records > 0 && found.input_events > 1000,
        "{found:?}"
    );
    assert!(found.exactly_once(), "{found:?}");
    std::fs::remove_dir_all(dir).ok();
}

fn counted_some(dir: &Path) -> bool {
    let Ok(db) = audit::read_only(&dir.join("pipeline.db")) else {
        return false;
    };
    db.query_row(
        "SELECT COALESCE(SUM(events), 0) FROM page_counts",
        [],
        |r| r.get::<_, i64>(0),
    )
    .is_ok_and(|n| n > 0)
}

/// The offsets the sink stored (none before it has created the database).
fn stored(db: &Path, topic: &str) -> std::collections::BTreeMap<i32, i64> {
    if !db.exists() {
        return Default::default();
    }
    let db = audit::read_only(db).unwrap();
    sink::stored_offsets(&db, topic).unwrap_or_default()
}

async fn write_results(brokers: &str, topic: &str, n: usize) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    for i in 0..n {
        let result = WindowResult {
            kind: Kind::Page as i32,
            key: format!("/p/{i}"),
            window_start_ms: 0,
            window_end_ms: 1000,
            events: 1,
            ..WindowResult::default()
        };
        let value = encode(&result);
        producer
            .send(
                FutureRecord::to(topic).key("k").payload(&value),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
    }
}

/// Another connection holds the database's write lock: the sink stops
/// with an error naming the file, and the stored offsets do not move; once
/// the lock is gone, a rerun writes what the first one could not.
#[tokio::test(flavor = "multi_thread")]
async fn a_locked_database_stops_the_sink_without_moving_offsets() {
    let cluster = test_cluster();
    let brokers = cluster.bootstrap_servers().to_string();
    let topics = Topics {
        prefix: unique_name("ch05-lock"),
        partitions: 1,
    };
    topics.ensure(&cluster).await.unwrap();
    let dir = scratch("ch05-lock");
    let db = dir.join("pipeline.db");
    let db_flag = db.display().to_string();
    let sink_args = [
        "sink",
        "--prefix",
        &topics.prefix,
        "--partitions",
        "1",
        "--db",
        &db_flag,
        "--metrics-port",
        "0",
        "--busy-timeout-ms",
        "300",
    ];

    write_results(&brokers, &topics.results(), 5).await;
    let mut sink = ChildProcess::spawn(pipeline(&brokers, &sink_args));
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&db, &topics.results()).get(&0) != Some(&5) {
        assert!(Instant::now() < deadline, "{}", sink.transcript());
        std::thread::sleep(Duration::from_millis(100));
    }
    sink.signal(Signal::SIGTERM);
    sink.finish(Duration::from_secs(30)).unwrap();

    write_results(&brokers, &topics.results(), 3).await;
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let mut locked = ChildProcess::spawn(pipeline(&brokers, &sink_args));
    let status = locked.wait(Duration::from_secs(60));
    let output = locked.transcript();
    assert!(!status.success(), "{output}");
    assert!(
        output.contains(&db_flag) && output.contains("locked"),
        "{output}"
    );
    assert!(!output.contains("panicked"), "{output}");
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_eq!(stored(&db, &topics.results())[&0], 5, "no offset moved");

    let mut again = ChildProcess::spawn(pipeline(&brokers, &sink_args));
    let deadline = Instant::now() + Duration::from_secs(60);
    while stored(&db, &topics.results()).get(&0) != Some(&8) {
        assert!(Instant::now() < deadline, "{}", again.transcript());
        std::thread::sleep(Duration::from_millis(100));
    }
    again.signal(Signal::SIGTERM);
    again.finish(Duration::from_secs(30)).unwrap();
    std::fs::remove_dir_all(dir).ok();
}

/// A database path that cannot be a database (here: a directory): a clear
/// error naming it, before anything is read.
#[test]
fn an_unusable_database_path_is_named() {
    let cluster = test_cluster();
    let dir = scratch("ch05-baddb");
    let path = dir.display().to_string();
    let mut sink = ChildProcess::spawn(pipeline(
        cluster.bootstrap_servers(),
        &[
            "sink",
            "--prefix",
            &unique_name("ch05-bad"),
            "--db",
            &path,
            "--metrics-port",
            "0",
        ],
    ));
    let status = sink.wait(Duration::from_secs(60));
    let output = sink.transcript();
    assert!(!status.success(), "{output}");
    assert!(
        output.contains(&format!("cannot write the database {path}")),
        "{output}"
    );
    std::fs::remove_dir_all(dir).ok();
}

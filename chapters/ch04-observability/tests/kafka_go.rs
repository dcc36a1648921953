//! kafka-go 对照: what kafka-go's own statistics report, from a small Go
//! program (`go/`) against the same broker — and the lag the group really
//! has, measured the lesson's way.

use std::collections::BTreeMap;
use std::time::Duration;

use ch04_observability::lesson::lag::{lag_monitor, lag_now};
use tutorial_lab::go::{FIRST_BUILD_LIMIT, GoProgram};
use tutorial_lab::{TestTopic, test_cluster, unique_name};

fn fields(output: &str, line: &str) -> BTreeMap<String, i64> {
    let text = output
        .lines()
        .find_map(|l| l.strip_prefix(line).filter(|rest| rest.starts_with(' ')))
        .unwrap_or_else(|| panic!("no `{line}` line in:\n{output}"));
    text.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().expect("a number")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_go_reader_lag_is_minus_one_in_a_group_and_its_stats_lag_counts_what_it_fetched_not_what_the_group_committed()
 {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "obs-kafka-go", 1, 1).await;
    let group = unique_name("obs-kafka-go");
    let program = GoProgram::new(concat!(env!("CARGO_MANIFEST_DIR"), "/go"));
    let captured = program
        .run(
            &[cluster.bootstrap_servers(), &topic.name, &group, "50", "20"],
            FIRST_BUILD_LIMIT,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let output = captured.text();
    assert!(captured.success(), "{output}");
    eprintln!("{output}");

    let writer = fields(&output, "writer");
    assert_eq!(writer["messages"], 50, "{output}");
    assert_eq!(writer["errors"], 0);
    assert!(
        writer["batch_size_max"] <= 10,
        "BatchSize: 10 caps each batch: {output}"
    );

    let reader = fields(&output, "reader");
    // Reader.Lag() with a GroupID: -1 (reader.go: `if r.useConsumerGroup() { return -1 }`).
    assert_eq!(reader["lag_method"], -1, "{output}");
    // Stats().Lag: high watermark minus the offset the reader *fetched* to.
    // The reader prefetched all 50, so it says 0 ...
    assert_eq!(reader["stats_lag"], 0, "{output}");
    // Messages counts what it fetched; 30 of them wait in its queue.
    assert_eq!(reader["stats_messages"], 50, "{output}");
    assert_eq!(reader["queue_length"], 30, "{output}");
    // ... while the group has committed only the 20 ReadMessage returned.
    let (bootstrap, group_name, topic_name) = (
        cluster.bootstrap_servers().to_string(),
        group.clone(),
        topic.name.clone(),
    );
    let lags = tokio::task::spawn_blocking(move || {
        let monitor = lag_monitor(&bootstrap, &group_name).unwrap();
        lag_now(&monitor, &topic_name, &[0], Duration::from_secs(30)).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(lags[0].committed, Some(20));
    assert_eq!(lags[0].lag(), Some(30), "the group's real lag");
}

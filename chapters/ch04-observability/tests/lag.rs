//! Consumer lag three ways — librdkafka's statistics, the committed offset
//! against the high watermark, and Kafka's own `kafka-consumer-groups` —
//! for a group with a known backlog; and what each says while a consumer
//! is paused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ch04_observability::lab::load::fill_partitions;
use ch04_observability::lab::snapshots::{
    PartitionStats, consumer_lags, next_snapshot, partition_when, partitions,
};
use ch04_observability::lab::tool::{ToolRow, describe_group};
use ch04_observability::lab::transaction::OpenTransaction;
use ch04_observability::lesson::consume::consume_until;
use ch04_observability::lesson::lag::{PartitionLag, lag_monitor, lag_now};
use ch04_observability::lesson::metrics::Metrics;
use ch04_observability::lesson::stats::{self, StatsContext, consumer_config};
use rdkafka::consumer::stream_consumer::StreamPartitionQueue;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tutorial_lab::{STEP_TIMEOUT, TestTopic, test_cluster, unique_name, within};

const INTERVAL_MS: u64 = 200;

/// The consumer loop of the lesson, running in the background until the
/// returned token is cancelled; the counter says how many records it handled.
fn run_loop(
    consumer: &Arc<StreamConsumer<StatsContext>>,
    commit_every: Duration,
) -> (
    CancellationToken,
    Arc<AtomicU64>,
    tokio::task::JoinHandle<u64>,
) {
    let stop = CancellationToken::new();
    let handled = Arc::new(AtomicU64::new(0));
    let task = tokio::spawn({
        let (consumer, stop, handled) = (Arc::clone(consumer), stop.clone(), Arc::clone(&handled));
        async move {
            consume_until(&consumer, &stop, commit_every, |_| {
                handled.fetch_add(1, Ordering::Relaxed);
            })
            .await
            .expect("the consumer loop")
        }
    });
    (stop, handled, task)
}

async fn handled_reaches(handled: &AtomicU64, count: u64) {
    within(
        STEP_TIMEOUT,
        "the consumer loop to handle the records",
        async {
            while handled.load(Ordering::Relaxed) < count {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
}

/// Commits `offsets[p]` for partition `p` of `topic`, synchronously.
async fn commit_offsets(
    consumer: &Arc<StreamConsumer<StatsContext>>,
    topic: &str,
    offsets: &[i64],
) {
    let mut list = TopicPartitionList::new();
    for (partition, offset) in offsets.iter().enumerate() {
        list.add_partition_offset(topic, partition as i32, Offset::Offset(*offset))
            .expect("offset");
    }
    let committer = Arc::clone(consumer);
    tokio::task::spawn_blocking(move || committer.commit(&list, CommitMode::Sync))
        .await
        .expect("join")
        .expect("commit");
}

/// Outside view 1: committed offset vs high watermark, on a blocking thread.
async fn lag_from_offsets(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> BTreeMap<i32, i64> {
    let (bootstrap, group, topic, partitions) = (
        bootstrap.to_string(),
        group.to_string(),
        topic.to_string(),
        partitions.to_vec(),
    );
    let lags: Vec<PartitionLag> = tokio::task::spawn_blocking(move || {
        let monitor = lag_monitor(&bootstrap, &group).expect("lag monitor");
        lag_now(&monitor, &topic, &partitions, STEP_TIMEOUT)
            .expect("committed offsets and watermarks")
    })
    .await
    .expect("join");
    lags.iter()
        .map(|l| {
            (
                l.partition,
                l.lag().expect("the group committed on every partition"),
            )
        })
        .collect()
}

/// Outside view 2: Kafka's tool, on a blocking thread.
async fn lag_from_tool(bootstrap: &str, group: &str, topic: &str) -> Vec<ToolRow> {
    let (bootstrap, group, topic) = (bootstrap.to_string(), group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || describe_group(&bootstrap, &group, &topic))
        .await
        .expect("join")
        .unwrap_or_else(|e| panic!("kafka-consumer-groups --describe: {e}"))
}

fn tool_lags(rows: &[ToolRow]) -> BTreeMap<i32, i64> {
    rows.iter()
        .map(|r| (r.partition, r.lag.expect("a committed offset, so a LAG")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_from_statistics_from_offsets_and_from_kafkas_tool_agree_on_a_known_backlog() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "obs-lag", 3, 1).await;
    let written = [120, 80, 50];
    let committed = [20, 30, 50];
    let backlog = BTreeMap::from([(0, 100), (1, 50), (2, 0)]);
    fill_partitions(bootstrap, &topic.name, &written)
        .await
        .expect("records written");

    let group = unique_name("obs-lag");
    let metrics = Metrics::new();
    let consumer = Arc::new(
        stats::consumer(&consumer_config(bootstrap, &group, INTERVAL_MS), &metrics)
            .expect("consumer"),
    );
    consumer.subscribe(&[&topic.name]).expect("subscribe");
    // Commit only when told (the first tick finds nothing stored).
    let (stop, handled, task) = run_loop(&consumer, Duration::from_secs(3600));
    handled_reaches(&handled, 250).await;

    // The group commits less than it read: a known backlog per partition.
    commit_offsets(&consumer, &topic.name, &committed).await;

    // Two more snapshots, both taken after the commit returned.
    let snapshot = next_snapshot(consumer.context(), 2, Duration::from_secs(10))
        .await
        .expect("statistics after the commit");
    let from_stats = consumer_lags(&snapshot, &topic.name);
    let from_offsets = lag_from_offsets(bootstrap, &group, &topic.name, &[0, 1, 2]).await;
    let rows = lag_from_tool(bootstrap, &group, &topic.name).await;
    let from_tool = tool_lags(&rows);
    eprintln!(
        "lag from statistics {from_stats:?}, from offsets {from_offsets:?}, from kafka-consumer-groups {from_tool:?}"
    );

    assert_eq!(from_stats, backlog, "{snapshot:#?}");
    assert_eq!(from_offsets, backlog);
    assert_eq!(from_tool, backlog, "{rows:?}");
    // The tool's columns are the same two numbers the lesson reads.
    for row in &rows {
        let p = row.partition as usize;
        assert_eq!(row.current, Some(committed[p]));
        assert_eq!(row.log_end, written[p] as i64);
    }
    // The statistics' other lag counts from the *stored* offset: every
    // record was handed over, so nothing is behind it.
    for (partition, p) in partitions(&snapshot, &topic.name) {
        assert_eq!(p.consumer_lag_stored, 0, "partition {partition}");
        assert_eq!(p.committed_offset, committed[partition as usize]);
    }
    stop.cancel();
    let _ = task.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_consumer_is_paused_lag_rises_outside_but_the_statistics_freeze_and_all_return_to_zero()
 {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "obs-pause", 1, 1).await;
    fill_partitions(bootstrap, &topic.name, &[40])
        .await
        .expect("records written");
    let group = unique_name("obs-pause");
    let metrics = Metrics::new();
    let consumer = Arc::new(
        stats::consumer(&consumer_config(bootstrap, &group, INTERVAL_MS), &metrics)
            .expect("consumer"),
    );
    consumer.subscribe(&[&topic.name]).expect("subscribe");
    let (stop, handled, task) = run_loop(&consumer, Duration::from_millis(200));
    handled_reaches(&handled, 40).await;
    let caught_up = |lags: &BTreeMap<i32, i64>| lags.get(&0) == Some(&0);
    within(
        STEP_TIMEOUT,
        "lag 0 in the statistics after the commit",
        async {
            loop {
                let snapshot = next_snapshot(consumer.context(), 1, STEP_TIMEOUT)
                    .await
                    .expect("stats");
                if caught_up(&consumer_lags(&snapshot, &topic.name)) {
                    break;
                }
            }
        },
    )
    .await;
    assert_eq!(
        lag_from_offsets(bootstrap, &group, &topic.name, &[0]).await[&0],
        0
    );

    // Pause; the loop keeps awaiting recv(), so statistics keep coming.
    // A fetch already in flight still completes (and would carry a new high
    // watermark): wait out fetch.wait.max.ms (500 ms) before writing more.
    consumer
        .pause(&consumer.assignment().expect("assignment"))
        .expect("pause");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    fill_partitions(bootstrap, &topic.name, &[60])
        .await
        .expect("records written");
    let before = consumer.context().callbacks();
    let mut frozen = Vec::new();
    for _ in 0..5 {
        let snapshot = next_snapshot(consumer.context(), 1, Duration::from_secs(10))
            .await
            .expect("statistics keep coming while paused");
        let p = partitions(&snapshot, &topic.name)[&0];
        frozen.push((p.consumer_lag, p.hi_offset));
    }
    let outside = lag_from_offsets(bootstrap, &group, &topic.name, &[0]).await[&0];
    let tool = tool_lags(&lag_from_tool(bootstrap, &group, &topic.name).await)[&0];
    eprintln!(
        "paused: statistics (consumer_lag, hi_offset) {frozen:?} over {} callbacks; offsets say {outside}, the tool says {tool}",
        consumer.context().callbacks() - before
    );
    // Still frozen after the tool's seconds of JVM start-up.
    let later = next_snapshot(consumer.context(), 1, Duration::from_secs(10))
        .await
        .expect("stats");
    let p = partitions(&later, &topic.name)[&0];
    frozen.push((p.consumer_lag, p.hi_offset));
    assert_eq!(outside, 60, "60 records written while paused");
    assert_eq!(tool, 60);
    assert!(
        frozen.iter().all(|&(lag, hi)| lag == 0 && hi == 40),
        "no fetch while paused, so no new high watermark: {frozen:?}"
    );
    assert_eq!(
        handled.load(Ordering::Relaxed),
        40,
        "nothing delivered while paused"
    );

    // Resume: the loop reads the 60, commits, and every view is back to 0.
    consumer
        .resume(&consumer.assignment().expect("assignment"))
        .expect("resume");
    handled_reaches(&handled, 100).await;
    within(STEP_TIMEOUT, "lag 0 everywhere after resuming", async {
        loop {
            let snapshot = next_snapshot(consumer.context(), 1, STEP_TIMEOUT)
                .await
                .expect("stats");
            let p = partitions(&snapshot, &topic.name)[&0];
            if p.consumer_lag == 0 && p.hi_offset == 100 {
                break;
            }
        }
    })
    .await;
    assert_eq!(
        lag_from_offsets(bootstrap, &group, &topic.name, &[0]).await[&0],
        0
    );
    assert_eq!(
        tool_lags(&lag_from_tool(bootstrap, &group, &topic.name).await)[&0],
        0
    );
    stop.cancel();
    let _ = task.await;
}

/// One partition's lag as everybody sees it at one moment.
#[derive(Debug)]
struct Views {
    /// The consumer's statistics (read_committed: `consumer_lag` ends at `ls_offset`).
    stats: PartitionStats,
    /// The lesson's monitor (read_uncommitted: `fetch_watermarks` is the high watermark).
    monitor: PartitionLag,
    /// The same monitor with librdkafka's default, read_committed: `fetch_watermarks` is the LSO.
    monitor_read_committed: PartitionLag,
    /// `kafka-consumer-groups --describe`, when asked.
    tool: Option<ToolRow>,
}

/// Waits for the consumer's statistics to satisfy `until` on partition 0,
/// then asks the two monitors and (if `ask_tool`) Kafka's tool.
async fn views(
    consumer: &StreamConsumer<StatsContext>,
    bootstrap: &str,
    group: &str,
    topic: &str,
    ask_tool: bool,
    until: impl Fn(&PartitionStats) -> bool,
) -> Views {
    let stats = partition_when(consumer.context(), topic, 0, STEP_TIMEOUT, until)
        .await
        .unwrap_or_else(|last| {
            panic!("statistics never showed the expected offsets; last: {last:?}")
        });
    let (b, g, t) = (bootstrap.to_string(), group.to_string(), topic.to_string());
    let (monitor, monitor_read_committed) = tokio::task::spawn_blocking(move || {
        let lesson = lag_monitor(&b, &g).expect("lag monitor");
        let read_committed: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("group.id", &g)
            .set("enable.auto.commit", "false")
            .create()
            .expect("read_committed monitor");
        let ask = |m: &BaseConsumer| lag_now(m, &t, &[0], STEP_TIMEOUT).expect("offsets")[0];
        (ask(&lesson), ask(&read_committed))
    })
    .await
    .expect("join");
    let tool = if ask_tool {
        Some(lag_from_tool(bootstrap, group, topic).await[0])
    } else {
        None
    };
    Views {
        stats,
        monitor,
        monitor_read_committed,
        tool,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_read_committed_the_statistics_lag_ends_at_the_last_stable_offset_while_a_transaction_is_open()
 {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "obs-lso", 1, 1).await;
    fill_partitions(bootstrap, &topic.name, &[30])
        .await
        .expect("records written");
    let group = unique_name("obs-lso");
    let metrics = Metrics::new();
    // consumer_config leaves isolation.level at librdkafka's default: read_committed.
    let consumer = Arc::new(
        stats::consumer(&consumer_config(bootstrap, &group, INTERVAL_MS), &metrics)
            .expect("consumer"),
    );
    consumer.subscribe(&[&topic.name]).expect("subscribe");
    let (stop, handled, task) = run_loop(&consumer, Duration::from_secs(3600));
    handled_reaches(&handled, 30).await;
    commit_offsets(&consumer, &topic.name, &[20]).await;

    // 20 records in a transaction left open (offsets 30..49), then 10
    // plain records behind it (50..59): high watermark 60, LSO 30.
    let open = OpenTransaction::write(bootstrap, &unique_name("obs-lso-tx"), &topic.name, 0, 20)
        .await
        .expect("a transaction with 20 records, left open");
    fill_partitions(bootstrap, &topic.name, &[10])
        .await
        .expect("records written");
    let during = views(&consumer, bootstrap, &group, &topic.name, true, |p| {
        p.hi_offset == 60 && p.committed_offset == 20
    })
    .await;
    eprintln!("transaction open: {during:#?}");
    assert_eq!(
        handled.load(Ordering::Relaxed),
        30,
        "a read_committed consumer is handed nothing past the LSO, not even the plain records"
    );
    let s = during.stats;
    assert_eq!((s.ls_offset, s.hi_offset), (30, 60));
    assert_eq!(
        s.consumer_lag, 10,
        "LSO 30 − committed 20, not high watermark 60 − 20"
    );
    assert_eq!(s.consumer_lag_stored, 0, "LSO 30 − stored 30");
    assert_eq!(
        (
            during.monitor_read_committed.high_watermark,
            during.monitor_read_committed.lag()
        ),
        (30, Some(10)),
        "fetch_watermarks under read_committed answers with the LSO"
    );
    assert_eq!(
        (during.monitor.high_watermark, during.monitor.lag()),
        (60, Some(40))
    );
    let tool = during.tool.expect("asked");
    assert_eq!(
        (tool.log_end, tool.lag),
        (60, Some(40)),
        "the tool measures to the high watermark"
    );

    // Commit: a marker at 60, high watermark = LSO = 61; the consumer gets
    // the 30 records and passes the marker. Committed is still 20.
    open.commit().await.expect("commit the transaction");
    handled_reaches(&handled, 60).await;
    let committed = views(&consumer, bootstrap, &group, &topic.name, true, |p| {
        p.ls_offset == 61 && p.hi_offset == 61 && p.stored_offset == 61
    })
    .await;
    eprintln!("transaction committed: {committed:#?}");
    let s = committed.stats;
    assert_eq!((s.consumer_lag, s.consumer_lag_stored), (41, 0));
    assert_eq!(committed.monitor.lag(), Some(41));
    assert_eq!(committed.monitor_read_committed.lag(), Some(41));
    assert_eq!(committed.tool.expect("asked").lag, Some(41));

    // Abort: 10 records (61..70) and an abort marker (71): high watermark
    // = LSO = 72. Nothing is handed over, yet the stored offset passes the
    // marker, so once committed every view is back to 0.
    let aborted = OpenTransaction::write(bootstrap, &unique_name("obs-lso-tx"), &topic.name, 0, 10)
        .await
        .expect("a second transaction");
    aborted.abort().await.expect("abort the transaction");
    let before_commit = views(&consumer, bootstrap, &group, &topic.name, false, |p| {
        p.ls_offset == 72 && p.hi_offset == 72
    })
    .await;
    eprintln!("transaction aborted: {before_commit:#?}");
    assert_eq!(
        handled.load(Ordering::Relaxed),
        60,
        "aborted records are not handed over"
    );
    let s = before_commit.stats;
    assert_eq!(
        s.consumer_lag, 52,
        "72 − committed 20: aborted records and markers count"
    );
    assert_eq!(
        (s.stored_offset, s.consumer_lag_stored),
        (72, 0),
        "the stored offset moves past the aborted records and the marker"
    );
    let stored = Arc::clone(&consumer);
    tokio::task::spawn_blocking(move || stored.commit_consumer_state(CommitMode::Sync))
        .await
        .expect("join")
        .expect("commit the stored offset");
    let after = views(&consumer, bootstrap, &group, &topic.name, true, |p| {
        p.committed_offset == 72
    })
    .await;
    eprintln!("after committing the stored offset: {after:#?}");
    assert_eq!(after.stats.consumer_lag, 0);
    assert_eq!(after.monitor.lag(), Some(0));
    assert_eq!(after.monitor_read_committed.lag(), Some(0));
    assert_eq!(after.tool.expect("asked").lag, Some(0));
    stop.cancel();
    let _ = task.await;
}

/// A consumer whose partition 0 goes to its own queue (the main queue —
/// statistics, group — is served by the lesson's loop), with a worker that
/// took `taken` records from that queue and then stalled.
struct Stalled {
    consumer: Arc<StreamConsumer<StatsContext>>,
    queue: StreamPartitionQueue<StatsContext>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<u64>,
}

async fn stalled_worker(
    bootstrap: &str,
    topic: &str,
    prefix: &str,
    queued_min_messages: Option<u32>,
    taken: usize,
) -> (String, Stalled) {
    let group = unique_name(prefix);
    let mut config = consumer_config(bootstrap, &group, INTERVAL_MS);
    if let Some(min) = queued_min_messages {
        config.set("queued.min.messages", min.to_string());
    }
    let consumer = Arc::new(stats::consumer(&config, &Metrics::new()).expect("consumer"));
    // Split before subscribing, so every record of partition 0 goes there.
    let queue = consumer
        .split_partition_queue(topic, 0)
        .expect("a partition queue");
    consumer.subscribe(&[topic]).expect("subscribe");
    // The main loop hands over nothing (partition 0 has its own queue) but
    // serves the statistics and commits what the worker stored.
    let (stop, handled, task) = run_loop(&consumer, Duration::from_millis(200));
    for _ in 0..taken {
        within(
            STEP_TIMEOUT,
            "a record from the partition queue",
            queue.recv(),
        )
        .await
        .expect("a record");
    }
    assert_eq!(handled.load(Ordering::Relaxed), 0);
    (
        group,
        Stalled {
            consumer,
            queue,
            stop,
            task,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_partition_queue_is_full_the_statistics_lag_freezes_but_the_lag_outside_grows() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "obs-fetchq", 1, 1).await;
    fill_partitions(bootstrap, &topic.name, &[40])
        .await
        .expect("records written");
    // Two groups, each with a worker that takes 10 records and stalls:
    // one with queued.min.messages=10, one with the default (100000).
    let (group, full) = stalled_worker(bootstrap, &topic.name, "obs-fetchq", Some(10), 10).await;
    let (_, control) = stalled_worker(bootstrap, &topic.name, "obs-fetchq-default", None, 10).await;
    // Committed 10, 30 records waiting in each partition queue.
    let settled =
        |p: &PartitionStats| p.committed_offset == 10 && p.hi_offset == 40 && p.fetchq_cnt == 30;
    for stalled in [&full, &control] {
        partition_when(
            stalled.consumer.context(),
            &topic.name,
            0,
            STEP_TIMEOUT,
            settled,
        )
        .await
        .unwrap_or_else(|last| panic!("never settled at 40/10/30: {last:?}"));
    }

    // 60 more records arrive while nobody takes from the queues.
    fill_partitions(bootstrap, &topic.name, &[60])
        .await
        .expect("records written");
    // The control fetches them: its queue is below queued.min.messages.
    let control_stats = partition_when(
        control.consumer.context(),
        &topic.name,
        0,
        STEP_TIMEOUT,
        |p| p.hi_offset == 100 && p.fetchq_cnt == 90,
    )
    .await
    .unwrap_or_else(|last| panic!("the control consumer never fetched the 60: {last:?}"));
    let before = full.consumer.context().callbacks();
    let mut frozen = Vec::new();
    for _ in 0..5 {
        let snapshot = next_snapshot(full.consumer.context(), 1, Duration::from_secs(10))
            .await
            .expect("statistics keep coming: the main queue is served");
        frozen.push(partitions(&snapshot, &topic.name)[&0]);
    }
    let outside = lag_from_offsets(bootstrap, &group, &topic.name, &[0]).await[&0];
    let tool = lag_from_tool(bootstrap, &group, &topic.name).await[0];
    let later = next_snapshot(full.consumer.context(), 1, Duration::from_secs(10))
        .await
        .expect("stats");
    frozen.push(partitions(&later, &topic.name)[&0]);
    eprintln!(
        "queue full: statistics (consumer_lag, hi_offset, fetchq_cnt) {:?} over {} callbacks; outside {outside}; the tool {tool:?}; control (queued.min.messages default) {control_stats:?}",
        frozen
            .iter()
            .map(|p| (p.consumer_lag, p.hi_offset, p.fetchq_cnt))
            .collect::<Vec<_>>(),
        full.consumer.context().callbacks() - before
    );
    assert!(
        frozen
            .iter()
            .all(|p| (p.consumer_lag, p.hi_offset, p.fetchq_cnt) == (30, 40, 30)),
        "no fetch while 30 ≥ queued.min.messages=10 records wait: {frozen:?}"
    );
    assert_eq!(outside, 90, "100 written, 10 committed");
    assert_eq!((tool.log_end, tool.lag), (100, Some(90)));
    assert_eq!(
        control_stats.consumer_lag, 90,
        "the control fetched and saw the new end"
    );

    // The worker resumes: it takes the 30 queued records, the fetcher
    // brings the other 60, and everything is committed and back to 0.
    for _ in 10..100 {
        within(STEP_TIMEOUT, "the rest of the records", full.queue.recv())
            .await
            .expect("a record");
    }
    let drained = partition_when(full.consumer.context(), &topic.name, 0, STEP_TIMEOUT, |p| {
        p.committed_offset == 100
    })
    .await
    .unwrap_or_else(|last| panic!("never committed 100: {last:?}"));
    assert_eq!(
        (drained.consumer_lag, drained.hi_offset, drained.fetchq_cnt),
        (0, 100, 0)
    );
    assert_eq!(
        lag_from_offsets(bootstrap, &group, &topic.name, &[0]).await[&0],
        0
    );
    for stalled in [full, control] {
        stalled.stop.cancel();
        let _ = stalled.task.await;
    }
}

/// Without split partition queues, each partition's fetch queue forwards
/// to the consumer's one queue, and librdkafka's `rd_kafka_q_len` follows
/// the forward: every partition's `fetchq_cnt` — and the
/// `queued.min.messages` check — counts the whole consumer queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_split_queues_every_partitions_fetchq_cnt_counts_the_whole_consumer_queue() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "obs-fetchq-all", 2, 1).await;
    fill_partitions(bootstrap, &topic.name, &[30, 10])
        .await
        .expect("records written");
    let consumer = stats::consumer(
        &consumer_config(bootstrap, &unique_name("obs-fetchq-all"), 100),
        &Metrics::new(),
    )
    .expect("consumer");
    consumer.subscribe(&[&topic.name]).expect("subscribe");
    // Take one record, leave the rest queued, and let both partitions'
    // fetches land; the next recv() serves the statistics queued meanwhile
    // (they are enqueued ahead of the records) before it hands one over.
    within(STEP_TIMEOUT, "a first record", consumer.recv())
        .await
        .expect("a record");
    let snapshot = within(STEP_TIMEOUT, "both partitions fetched", async {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            consumer.recv().await.expect("a record");
            let snapshot = consumer.context().latest().expect("statistics");
            let p = partitions(&snapshot, &topic.name);
            if p.len() == 2 && p.values().all(|p| p.hi_offset > 0) {
                return snapshot;
            }
        }
    })
    .await;
    let p = partitions(&snapshot, &topic.name);
    eprintln!(
        "fetchq_cnt: partition 0 (30 records) {}, partition 1 (10 records) {}",
        p[&0].fetchq_cnt, p[&1].fetchq_cnt
    );
    assert_eq!(
        p[&0].fetchq_cnt, p[&1].fetchq_cnt,
        "one queue, counted twice"
    );
    assert!(
        p[&1].fetchq_cnt > 10,
        "more than partition 1 could hold on its own: {}",
        p[&1].fetchq_cnt
    );
}

//! Chapter 三.3's claims about protocols and membership, on a real broker.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ch03_rebalance::lab::{Event, Group, StepReport, produce, step_report};
use ch03_rebalance::lesson::Protocol;
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name};

const PARTITIONS: i32 = 6;
const QUIET: Duration = Duration::from_secs(2);
const LIMIT: Duration = Duration::from_secs(60);

/// Two members; a third joins; the third leaves. Reports both steps.
async fn join_then_leave(protocol: Protocol) -> (StepReport, StepReport) {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-steps", PARTITIONS, 1).await;
    let mut group = Group::new(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("g"),
        protocol,
    );
    group.join("a", None).unwrap();
    group.join("b", None).unwrap();
    group.settle(PARTITIONS, QUIET, LIMIT).await.unwrap();
    let mut reports = Vec::new();
    for step in 0..2 {
        let (before, mark) = (group.assignment(), group.event_count());
        if step == 0 {
            group.join("c", None).unwrap();
        } else {
            group.leave("c").await.unwrap();
        }
        group.settle(PARTITIONS, QUIET, LIMIT).await.unwrap();
        reports.push(step_report(
            &before,
            &group.assignment(),
            &group.events_since(mark),
        ));
    }
    group.close().await.unwrap();
    (reports[0].clone(), reports[1].clone())
}

#[tokio::test]
async fn the_eager_protocol_revokes_partitions_that_stay_with_their_member() {
    let (join, leave) = join_then_leave(Protocol::Eager).await;
    assert!(join.moved > 0 && leave.moved > 0);
    assert!(
        join.revoked_and_returned > 0,
        "eager: everything is revoked first: {join:?}"
    );
    assert!(leave.revoked_and_returned > 0, "{leave:?}");
}

#[tokio::test]
async fn cooperative_sticky_revokes_only_partitions_that_move() {
    let (join, leave) = join_then_leave(Protocol::Cooperative).await;
    assert!(join.moved > 0, "c got partitions: {join:?}");
    assert_eq!(join.revoked_and_returned, 0, "{join:?}");
    assert_eq!(leave.revoked_and_returned, 0, "{leave:?}");
}

#[tokio::test]
async fn the_kip_848_consumer_protocol_revokes_only_partitions_that_move() {
    let (join, leave) = join_then_leave(Protocol::Consumer).await;
    assert!(join.moved > 0, "c got partitions: {join:?}");
    assert_eq!(join.revoked_and_returned, 0, "{join:?}");
    assert_eq!(leave.revoked_and_returned, 0, "{leave:?}");
}

/// Keeps producing batches until stopped; returns how many it produced.
fn start_producing(
    bootstrap: String,
    topic: String,
) -> (Arc<AtomicBool>, tokio::task::JoinHandle<usize>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let task = tokio::spawn(async move {
        let mut produced = 0;
        while !flag.load(Ordering::Relaxed) {
            produce(&bootstrap, &topic, produced, 20).await.unwrap();
            produced += 20;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        produced
    });
    (stop, task)
}

#[tokio::test]
async fn no_record_is_lost_or_repeated_across_clean_joins_and_leaves() {
    let cluster = test_cluster();
    for protocol in Protocol::ALL {
        let topic = TestTopic::create(&cluster, "ch03-noloss", PARTITIONS, 1).await;
        let bootstrap = cluster.bootstrap_servers().to_string();
        let mut group = Group::new(&bootstrap, &topic.name, &unique_name("g"), protocol);
        group.join("a", None).unwrap();
        group.join("b", None).unwrap();
        group.settle(PARTITIONS, QUIET, LIMIT).await.unwrap();
        let (stop, producer) = start_producing(bootstrap.clone(), topic.name.clone());
        group.join("c", None).unwrap();
        group.settle(PARTITIONS, QUIET, LIMIT).await.unwrap();
        group.leave("a").await.unwrap();
        group.settle(PARTITIONS, QUIET, LIMIT).await.unwrap();
        stop.store(true, Ordering::Relaxed);
        let produced = producer.await.unwrap();
        let deadline = Instant::now() + LIMIT;
        while group.all_processed().iter().collect::<BTreeSet<_>>().len() < produced {
            assert!(
                Instant::now() < deadline,
                "{protocol:?}: not everything consumed"
            );
            group.run_for(Duration::from_millis(100)).await.unwrap();
        }
        group.run_for(Duration::from_millis(500)).await.unwrap();
        let all = group.all_processed();
        let distinct: BTreeSet<_> = all.iter().collect();
        assert_eq!(
            distinct.len(),
            produced,
            "{protocol:?}: every produced record processed"
        );
        assert_eq!(
            all.len(),
            produced,
            "{protocol:?}: commit on revoke leaves nothing to repeat"
        );
        group.close().await.unwrap();
    }
}

/// Restart a member within the session timeout; does anyone else notice?
async fn restart_member(static_id: Option<&str>) -> Vec<Event> {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-static", PARTITIONS, 1).await;
    let mut group = Group::new(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("g"),
        Protocol::Cooperative,
    );
    group.join("a", static_id).unwrap();
    group.join("b", None).unwrap();
    group.settle(PARTITIONS, QUIET, LIMIT).await.unwrap();
    let mark = group.event_count();
    // "a" restarts: its process ends (the consumer is closed) and comes back.
    group.close_member("a").await.unwrap();
    group.run_for(Duration::from_secs(1)).await.unwrap();
    group.join("a", static_id).unwrap();
    group.run_for(Duration::from_secs(8)).await.unwrap();
    let events = group.events_since(mark);
    group.close().await.unwrap();
    events
}

#[tokio::test]
async fn a_static_member_that_restarts_quickly_causes_no_rebalance() {
    let events = restart_member(Some("a-static")).await;
    assert!(
        events.iter().all(|e| e.member != "b"),
        "b must not notice a's restart: {events:?}"
    );
}

#[tokio::test]
async fn a_dynamic_member_that_restarts_makes_the_others_rebalance() {
    let events = restart_member(None).await;
    assert!(
        events.iter().any(|e| e.member == "b"),
        "b takes over and gives back: {events:?}"
    );
}

/// An application that stops calling poll for longer than
/// `max.poll.interval.ms` is taken for stuck: librdkafka leaves the group
/// on its behalf and its partitions go to the others.
#[tokio::test]
async fn a_member_that_stops_polling_past_max_poll_interval_loses_its_partitions() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-maxpoll", PARTITIONS, 1).await;
    let mut group = Group::new(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("g"),
        Protocol::Cooperative,
    );
    group
        .join_with("slow", None, &[("max.poll.interval.ms", "7000")])
        .unwrap();
    group.join("b", None).unwrap();
    group.settle(PARTITIONS, QUIET, LIMIT).await.unwrap();
    group.members[0].stall();
    let deadline = Instant::now() + Duration::from_secs(40);
    while group.members[1].owned().len() < PARTITIONS as usize {
        assert!(
            Instant::now() < deadline,
            "b never took over the stuck member's partitions"
        );
        group.run_for(Duration::from_millis(100)).await.unwrap();
    }
    group.close().await.unwrap();
}

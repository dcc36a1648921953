//! Chapter 三.3's claims about protocols and membership, on a real broker.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ch03_rebalance::lab::{Event, Group, StepReport, churn_while_producing, step_report};
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

/// The lesson's members (auto-commit on, no commit of their own on revoke):
/// c joins and a leaves while records keep arriving.
#[tokio::test]
async fn no_record_is_lost_or_repeated_across_clean_joins_and_leaves() {
    let cluster = test_cluster();
    for protocol in Protocol::ALL {
        let topic = TestTopic::create(&cluster, "ch03-noloss", PARTITIONS, 1).await;
        let report = churn_while_producing(
            cluster.bootstrap_servers(),
            &topic.name,
            PARTITIONS,
            protocol,
            None,
            LIMIT,
        )
        .await
        .unwrap();
        assert_eq!(
            report.lost(),
            0,
            "{protocol:?}: every produced record processed: {report:?}"
        );
        assert_eq!(
            report.repeated(),
            0,
            "{protocol:?}: the revoked partitions' offsets are committed before they move: {report:?}"
        );
    }
}

/// What a's restart did: every callback after it, and what a owned before
/// and after.
struct Restart {
    events: Vec<Event>,
    owned_before: BTreeSet<i32>,
    owned_after: BTreeSet<i32>,
}

/// Restart a member within the session timeout; does anyone else notice?
async fn restart_member(static_id: Option<&str>) -> Restart {
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
    let owned_before = group.members[0].owned();
    // "a" restarts: its process ends (the consumer is closed) and comes back.
    group.close_member("a").await.unwrap();
    group.run_for(Duration::from_secs(1)).await.unwrap();
    group.join("a", static_id).unwrap();
    group.run_for(Duration::from_secs(8)).await.unwrap();
    let events = group.events_since(mark);
    let owned_after = group
        .members
        .iter()
        .find(|m| m.name == "a")
        .expect("a is back")
        .owned();
    group.close().await.unwrap();
    Restart {
        events,
        owned_before,
        owned_after,
    }
}

#[tokio::test]
async fn a_static_member_that_restarts_quickly_causes_no_rebalance() {
    let restart = restart_member(Some("a-static")).await;
    assert!(
        restart.events.iter().all(|e| e.member != "b"),
        "b must not notice a's restart: {:?}",
        restart.events
    );
    assert_eq!(
        restart.owned_after, restart.owned_before,
        "a gets its partitions back"
    );
}

#[tokio::test]
async fn a_dynamic_member_that_restarts_makes_the_others_rebalance() {
    let events = restart_member(None).await.events;
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

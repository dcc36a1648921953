//! The failure drill with the follower out of the ISR: it pauses, kills and
//! restarts brokers of the local three-node cluster, so it lives alone in
//! this test binary (tests of one binary run in parallel; binaries run one
//! after another) and heals the cluster before it returns. `#[ignore]`d in
//! the single-broker phase; the three-node phase of `cargo xtask test` runs
//! it.

use ch02_acks::lab::{Follower, failover_drill};
use tutorial_lab::testing::{test_cluster_with_brokers, unique_name};
use tutorial_support::topics::delete_topic;

#[tokio::test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
async fn acks_1_loses_acknowledged_records_when_the_leader_dies_alone_but_acks_all_loses_none() {
    let cluster = test_cluster_with_brokers(3);
    let prefix = unique_name("ch02-acks-out");
    let drill = failover_drill(
        cluster.bootstrap_servers(),
        &prefix,
        Follower::OutOfSync,
        200,
    )
    .await
    .unwrap();
    println!("{drill}");
    for acks in ["1", "all"] {
        delete_topic(&cluster, &format!("{prefix}-acks-{acks}"))
            .await
            .unwrap();
    }
    let (one, all) = (&drill.one, &drill.all);
    assert_eq!(
        drill.isr_at_failure,
        [drill.leader],
        "B had left the ISR when A died"
    );

    assert_eq!(
        one.acknowledged.len(),
        250,
        "the lone leader acknowledges every acks=1 record"
    );
    // Kafka 4.x with eligible leader replicas: the high watermark does not
    // move while the ISR is smaller than min.insync.replicas (KIP-966).
    assert_eq!(
        one.high_watermark_at_failure, 50,
        "acks=1 records above the high watermark"
    );
    assert!(
        (0..50).all(|s| one.stored.contains(&s)),
        "records replicated before the failure survive"
    );
    assert_eq!(
        one.lost,
        (50..250).collect(),
        "acks=1: every record acknowledged by the lone leader vanishes with it"
    );

    assert!(
        all.lost.is_empty(),
        "acks=all: nothing acknowledged is lost: {:?}",
        all.lost
    );
    assert!(
        (0..50).all(|s| all.stored.contains(&s)),
        "records replicated before the failure survive"
    );
    assert!(
        all.acknowledged.iter().all(|s| *s < 50),
        "with one replica in sync and min.insync.replicas=2, acks=all acknowledges nothing"
    );
    let error = all.first_error.clone().unwrap_or_default();
    assert!(
        error.contains("in-sync replicas"),
        "the producer is told why: {error}"
    );
}

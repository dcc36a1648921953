//! The failure drill with the follower still in the ISR, but behind: the
//! leader dies right after acknowledging and the controller elects the
//! follower from the ISR — a clean election. It pauses, kills and restarts
//! brokers of the local three-node cluster, so it lives alone in this test
//! binary and heals the cluster before it returns. `#[ignore]`d in the
//! single-broker phase; the three-node phase of `cargo xtask test` runs it.

use ch02_acks::lab::{Follower, failover_drill};
use tutorial_lab::testing::{test_cluster_with_brokers, unique_name};
use tutorial_support::topics::delete_topic;

#[tokio::test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
async fn acks_1_loses_acknowledged_records_in_a_clean_election_while_acks_all_loses_none() {
    let cluster = test_cluster_with_brokers(3);
    let prefix = unique_name("ch02-acks-clean");
    let drill = failover_drill(
        cluster.bootstrap_servers(),
        &prefix,
        Follower::InSyncButBehind,
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
    let mut isr = drill.isr_at_failure.clone();
    isr.sort();
    let mut both = vec![drill.leader, drill.follower_id];
    both.sort();
    assert_eq!(isr, both, "B was still in the ISR when A died");

    assert_eq!(
        one.acknowledged.len(),
        250,
        "the leader acknowledges every acks=1 record"
    );
    assert_eq!(
        one.high_watermark_at_failure, 50,
        "B had copied none of them when A died"
    );
    assert!(
        (0..50).all(|s| one.stored.contains(&s)),
        "records replicated before the failure survive"
    );
    assert_eq!(
        one.lost,
        (50..250).collect(),
        "acks=1: every record B had not copied vanishes, although B was elected from the ISR"
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
        "acks=all waits for B, which never copied them: nothing is acknowledged"
    );
    assert!(
        all.first_error.is_some(),
        "the producer is told the write failed"
    );
}

//! The failure drill: it pauses, kills and restarts brokers of the local
//! three-node cluster, so it lives alone in this test binary (tests of one
//! binary run in parallel; binaries run one after another) and heals the
//! cluster before it returns. `#[ignore]`d in the single-broker phase; the
//! three-node phase of `cargo xtask test` runs it.

use ch02_acks::lab::durability_trial;
use tutorial_lab::testing::{test_cluster_with_brokers, unique_name};

#[tokio::test]
#[ignore = "needs 3 brokers: run by the three-node phase of `cargo xtask test`"]
async fn acks_1_loses_acknowledged_records_when_the_leader_dies_alone_but_acks_all_loses_none() {
    let cluster = test_cluster_with_brokers(3);
    let bootstrap = cluster.bootstrap_servers();

    let one = durability_trial(bootstrap, &unique_name("ch02-acks-1"), "1", 200)
        .await
        .unwrap();
    println!(
        "acks=1: sent {}, acknowledged {}, stored after failover {}, lost {} (first error: {:?})",
        one.sent,
        one.acknowledged.len(),
        one.stored.len(),
        one.lost.len(),
        one.first_error
    );
    assert_eq!(
        one.acknowledged.len(),
        250,
        "the lone leader acknowledges every record"
    );
    assert!(
        (0..50).all(|s| one.stored.contains(&s)),
        "records replicated before the failure survive"
    );
    assert!(
        !one.lost.is_empty(),
        "acks=1: acknowledged records vanish with the leader"
    );

    let all = durability_trial(bootstrap, &unique_name("ch02-acks-all"), "all", 200)
        .await
        .unwrap();
    println!(
        "acks=all: sent {}, acknowledged {}, stored after failover {}, lost {} (first error: {:?})",
        all.sent,
        all.acknowledged.len(),
        all.stored.len(),
        all.lost.len(),
        all.first_error
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
    let error = all.first_error.unwrap_or_default();
    assert!(
        error.contains("in-sync replicas"),
        "the producer is told why: {error}"
    );
}

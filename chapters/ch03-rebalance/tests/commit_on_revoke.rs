//! Who commits the revoked partitions' offsets. Members a and b share six
//! partitions; while records keep arriving, c joins and a leaves; then the
//! rest is read to the end — under each combination of `enable.auto.commit`
//! (with a 10-minute interval, so the periodic commit never fires) and an
//! explicit commit in `pre_rebalance`, for each protocol.

use std::time::Duration;

use ch03_rebalance::lab::{ChurnReport, Committing, churn_while_producing};
use ch03_rebalance::lesson::Protocol;
use tutorial_lab::testing::{TestTopic, test_cluster};

const PARTITIONS: i32 = 6;
const LIMIT: Duration = Duration::from_secs(60);

async fn churn(protocol: Protocol, auto_commit: bool, commit_on_revoke: bool) -> ChurnReport {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-revoke", PARTITIONS, 1).await;
    let committing = Committing {
        auto_commit,
        commit_on_revoke,
    };
    let report = churn_while_producing(
        cluster.bootstrap_servers(),
        &topic.name,
        PARTITIONS,
        protocol,
        Some(committing),
        LIMIT,
    )
    .await
    .unwrap();
    println!("{protocol:?} {}: {report:?}", committing.name());
    assert_eq!(report.lost(), 0, "{protocol:?}: {report:?}");
    report
}

#[tokio::test]
async fn with_auto_commit_and_a_commit_on_revoke_nothing_is_repeated() {
    for protocol in Protocol::ALL {
        let report = churn(protocol, true, true).await;
        assert_eq!(report.repeated(), 0, "{protocol:?}: {report:?}");
    }
}

/// The explicit commit is not what saves the day: librdkafka commits the
/// stored offsets of revoked partitions itself when auto-commit is on.
#[tokio::test]
async fn with_auto_commit_librdkafka_commits_revoked_partitions_itself_so_nothing_is_repeated() {
    for protocol in Protocol::ALL {
        let report = churn(protocol, true, false).await;
        assert_eq!(report.repeated(), 0, "{protocol:?}: {report:?}");
    }
}

#[tokio::test]
async fn without_auto_commit_the_commit_on_revoke_leaves_nothing_to_repeat() {
    for protocol in Protocol::ALL {
        let report = churn(protocol, false, true).await;
        assert_eq!(report.repeated(), 0, "{protocol:?}: {report:?}");
    }
}

/// Nobody commits: every partition that moves is read again by its new
/// owner from the start.
#[tokio::test]
async fn without_auto_commit_and_without_a_commit_on_revoke_moved_partitions_are_read_again() {
    for protocol in Protocol::ALL {
        let report = churn(protocol, false, false).await;
        assert!(report.repeated() > 0, "{protocol:?}: {report:?}");
    }
}

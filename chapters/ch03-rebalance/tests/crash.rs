//! A member killed with SIGKILL: its partitions move after the session
//! timeout, nothing is lost, and only its uncommitted work is repeated.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use ch03_rebalance::lab::{Group, produce};
use ch03_rebalance::lesson::Protocol;
use tutorial_lab::testing::{ChildProcess, TestTopic, test_cluster, unique_name};

const PARTITIONS: i32 = 6;

fn child_processed(transcript: &str) -> Vec<(i32, i64)> {
    transcript
        .lines()
        .filter_map(|l| l.strip_prefix("processed "))
        .filter_map(|rest| {
            let (p, o) = rest.split_once(':')?;
            Some((p.parse().ok()?, o.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn a_killed_members_partitions_move_after_the_session_timeout_and_nothing_is_lost() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "ch03-crash", PARTITIONS, 1).await;
    let group_id = unique_name("g");
    produce(bootstrap, &topic.name, 0, 300).await.unwrap();

    let mut command = Command::new(env!("CARGO_BIN_EXE_ch03-rebalance"));
    command.env("RUST_LOG", "warn,librdkafka=off").args([
        "member",
        "--brokers",
        bootstrap,
        "--topic",
        &topic.name,
        "--group",
        &group_id,
    ]);
    let mut child = ChildProcess::spawn(command);
    child.wait_for_line("owns {", Duration::from_secs(30));
    let mut group = Group::new(bootstrap, &topic.name, &group_id, Protocol::Cooperative);
    group.join("a", None).unwrap();
    // Both members own partitions and everything produced so far is processed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        group.run_for(Duration::from_millis(100)).await.unwrap();
        let mine: BTreeSet<(i32, i64)> = group.all_processed().into_iter().collect();
        let theirs: BTreeSet<(i32, i64)> =
            child_processed(&child.transcript()).into_iter().collect();
        let owned = group.members[0].owned().len();
        if owned > 0 && owned < PARTITIONS as usize && mine.union(&theirs).count() >= 300 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the two members never shared the work"
        );
    }

    child.kill();
    let killed_at = Instant::now();
    let committed = committed_offsets(bootstrap, &topic.name, &group_id);
    while group.members[0].owned().len() < PARTITIONS as usize {
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "partitions never reassigned"
        );
        group.run_for(Duration::from_millis(50)).await.unwrap();
    }
    let moved_after = killed_at.elapsed();
    println!("partitions reassigned {moved_after:?} after the kill (session.timeout.ms=6000)");
    assert!(
        moved_after >= Duration::from_secs(2),
        "a crash is noticed by missing heartbeats, not at once"
    );
    assert!(
        moved_after <= Duration::from_secs(15),
        "within the session timeout plus a rebalance"
    );

    produce(bootstrap, &topic.name, 300, 300).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let theirs = child_processed(&child.transcript());
    loop {
        group.run_for(Duration::from_millis(100)).await.unwrap();
        let all: BTreeSet<(i32, i64)> = group
            .all_processed()
            .into_iter()
            .chain(theirs.iter().copied())
            .collect();
        if all.len() >= 600 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of 600 processed",
            all.len()
        );
    }
    let mine = group.all_processed();
    let repeated = mine.iter().filter(|r| theirs.contains(r)).count();
    let uncommitted = theirs
        .iter()
        .filter(|(p, o)| *o >= committed.get(p).copied().unwrap_or(0))
        .count();
    println!(
        "child processed {}, repeated after the crash {repeated}, uncommitted at the crash {uncommitted}",
        theirs.len()
    );
    assert_eq!(
        repeated, uncommitted,
        "exactly the dead member's uncommitted work is repeated"
    );
    group.close().await.unwrap();
}

fn committed_offsets(bootstrap: &str, topic: &str, group: &str) -> BTreeMap<i32, i64> {
    tutorial_lab::testing::committed_offsets(bootstrap, topic, group, 0..PARTITIONS)
        .expect("committed offsets")
}

//! Crash drills on a real broker: a worker process is killed with SIGKILL
//! when offset 200 of 400 has been handed to it but not processed; a fresh
//! consumer of the same group resumes. The sink file counts what happened.

use std::path::PathBuf;

use ch03_manual_commit::lab::{Drill, Mode, crash_drill, produce};
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name};

const RECORDS: i64 = 400;
const CRASH_AT: i64 = 200;

async fn drill(mode: Mode) -> Drill {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-crash", 1, 1).await;
    produce(cluster.bootstrap_servers(), &topic.name, RECORDS)
        .await
        .unwrap();
    let dir: PathBuf = std::env::temp_dir().join(unique_name("ch03-crash-sink"));
    std::fs::create_dir_all(&dir).unwrap();
    let sink = dir.join("sink.txt");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_ch03-manual-commit"));
    let result = crash_drill(
        &exe,
        cluster.bootstrap_servers(),
        &topic.name,
        mode,
        RECORDS,
        CRASH_AT,
        &sink,
    )
    .await
    .unwrap();
    println!("{mode:?}: {result:?}");
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[tokio::test]
async fn auto_commit_loses_the_record_that_was_handed_out_but_never_processed() {
    let result = drill(Mode::Auto).await;
    assert_eq!(
        result.committed_at_kill,
        CRASH_AT + 1,
        "the offset moved past the unprocessed record"
    );
    assert_eq!(
        result.audit.lost.iter().copied().collect::<Vec<_>>(),
        vec![CRASH_AT]
    );
}

#[tokio::test]
async fn storing_offsets_after_processing_loses_nothing_and_repeats_only_uncommitted_work() {
    let result = drill(Mode::StoreAfter).await;
    assert!(
        result.audit.lost.is_empty(),
        "lost: {:?}",
        result.audit.lost
    );
    assert!(result.committed_at_kill <= CRASH_AT);
    assert_eq!(
        result.audit.extra_deliveries as i64,
        CRASH_AT - result.committed_at_kill,
        "exactly the records processed since the last commit are processed again"
    );
    assert_eq!(
        result.applied_after_dedupe as i64, RECORDS,
        "deduplication by offset removes every repeat"
    );
}

#[tokio::test]
async fn committing_synchronously_after_processing_loses_and_repeats_nothing() {
    let result = drill(Mode::SyncCommit).await;
    assert_eq!(
        result.committed_at_kill, CRASH_AT,
        "every processed record was committed"
    );
    assert!(result.audit.lost.is_empty());
    assert_eq!(result.audit.extra_deliveries, 0);
}

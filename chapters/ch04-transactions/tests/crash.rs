//! The crash drill on the real broker: the worker (the lesson's loop in a
//! child process) stops itself at a point of its third batch and is
//! SIGKILLed; a new instance with the same group and transactional.id
//! takes over; a read_committed reader audits the output.

use std::path::Path;

use ch04_transactions::lab::drill::{self, Drill};
use ch04_transactions::lab::worker::{Mode, PausePoint};
use tutorial_lab::test_cluster;

async fn drill(mode: Mode, point: PausePoint) -> Drill {
    let worker = Path::new(env!("CARGO_BIN_EXE_ch04-transactions"));
    drill::run(&test_cluster(), worker, mode, point)
        .await
        .unwrap()
}

fn assert_exactly_once(drill: &Drill) {
    let audit = drill.committed;
    assert_eq!(audit.inputs, drill::RECORDS, "{drill:?}");
    assert_eq!(audit.lost, 0, "{drill:?}");
    assert_eq!(audit.duplicated, 0, "{drill:?}");
    assert_eq!(audit.strangers, 0, "{drill:?}");
    assert_eq!(audit.outputs, drill::RECORDS, "{drill:?}");
}

#[tokio::test]
async fn exactly_once_survives_a_kill_after_produce_before_the_offsets() {
    let drill = drill(Mode::ExactlyOnce, PausePoint::AfterProduce).await;
    assert_exactly_once(&drill);
    // The killed batch was written, then aborted when the new instance
    // initialised: its copy is in the log, invisible to read_committed.
    assert_eq!(
        drill.uncommitted_records,
        drill::RECORDS + drill::BATCH as usize,
        "{drill:?}"
    );
    // The new instance redid batches 3-6.
    assert_eq!(drill.taken_over, drill::RECORDS as u64 - 2 * drill::BATCH);
}

#[tokio::test]
async fn exactly_once_survives_a_kill_after_send_offsets_to_transaction() {
    let drill = drill(Mode::ExactlyOnce, PausePoint::AfterOffsets).await;
    assert_exactly_once(&drill);
    assert_eq!(drill.taken_over, drill::RECORDS as u64 - 2 * drill::BATCH);
}

#[tokio::test]
async fn exactly_once_survives_a_kill_during_commit() {
    let drill = drill(Mode::ExactlyOnce, PausePoint::DuringCommit).await;
    assert_exactly_once(&drill);
    // Either the coordinator got the commit before the freeze (the new
    // instance continues after batch 3) or it did not (batch 3 is redone).
    let after_three = drill::RECORDS as u64 - 3 * drill::BATCH;
    assert!(
        drill.taken_over == after_three || drill.taken_over == after_three + drill::BATCH,
        "{drill:?}"
    );
}

#[tokio::test]
async fn exactly_once_survives_a_kill_after_commit() {
    let drill = drill(Mode::ExactlyOnce, PausePoint::AfterCommit).await;
    assert_exactly_once(&drill);
    assert_eq!(drill.taken_over, drill::RECORDS as u64 - 3 * drill::BATCH);
}

#[tokio::test]
async fn at_least_once_duplicates_a_batch_after_a_kill_between_produce_and_commit() {
    let drill = drill(Mode::AtLeastOnce, PausePoint::AfterProduce).await;
    let audit = drill.committed;
    assert_eq!(audit.lost, 0, "{drill:?}");
    // Batch 3 was written and acknowledged, its offsets never committed:
    // the new instance processed it again, and both copies are visible.
    assert_eq!(audit.duplicated, drill::BATCH as usize, "{drill:?}");
    assert_eq!(audit.outputs, drill::RECORDS + drill::BATCH as usize);
}

#[tokio::test]
async fn on_revoke_the_open_transaction_is_committed_before_the_partitions_move() {
    let worker = Path::new(env!("CARGO_BIN_EXE_ch04-transactions"));
    let revoke = drill::revoke(&test_cluster(), worker).await.unwrap();
    let audit = revoke.committed;
    assert_eq!(audit.outputs, drill::RECORDS, "{revoke:?}");
    assert_eq!(audit.lost, 0, "{revoke:?}");
    assert_eq!(audit.duplicated, 0, "{revoke:?}");
    // The first instance's revoke callback committed all of it (its loop
    // never did), so the second instance found nothing left to process.
    assert_eq!(revoke.first, 0, "{revoke:?}");
    assert_eq!(revoke.second, 0, "{revoke:?}");
}

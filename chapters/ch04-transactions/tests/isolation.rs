//! What readers see of transactional records, on the real broker: the
//! visibility scene (one committed, one aborted, one open transaction of 3
//! records each) and the last stable offset.

use ch04_transactions::lab::scenes;
use tutorial_lab::test_cluster;

const COMMITTED: [&str; 3] = ["committed-0", "committed-1", "committed-2"];
const ABORTED: [&str; 3] = ["aborted-0", "aborted-1", "aborted-2"];
const OPEN: [&str; 3] = ["open-0", "open-1", "open-2"];

#[tokio::test]
async fn records_of_an_open_transaction_are_invisible_to_read_committed_and_visible_to_read_uncommitted()
 {
    let seen = scenes::visibility(&test_cluster()).await.unwrap();
    assert_eq!(seen.committed_while_open, COMMITTED);
    let mut everything: Vec<&str> = COMMITTED.to_vec();
    everything.extend(ABORTED);
    everything.extend(OPEN);
    assert_eq!(seen.uncommitted_while_open, everything);
    // Offsets 0-2 committed + marker 3, 4-6 aborted + marker 7, 8-10 open:
    // the LSO is the open transaction's first offset.
    assert_eq!(seen.ends_while_open.high_watermark, 11);
    assert_eq!(seen.ends_while_open.last_stable, 8);
}

#[tokio::test]
async fn aborted_records_are_never_seen_by_read_committed_and_committed_ones_appear_exactly_once() {
    let seen = scenes::visibility(&test_cluster()).await.unwrap();
    let mut expected: Vec<&str> = COMMITTED.to_vec();
    expected.extend(OPEN);
    // After the third transaction commits: its records once, the aborted
    // ones never, nothing twice.
    assert_eq!(seen.committed_after, expected);
    // Its commit marker takes offset 11; nothing is open any more.
    assert_eq!(seen.ends_after.high_watermark, 12);
    assert_eq!(seen.ends_after.last_stable, 12);
}

#[tokio::test]
async fn an_open_transaction_stops_read_committed_readers_at_the_last_stable_offset() {
    let lso = scenes::last_stable_offset(&test_cluster()).await.unwrap();
    // 5 plain records (0-4), 5 in the open transaction (5-9), 5 plain (10-14).
    assert_eq!(lso.while_open.high_watermark, 15);
    assert_eq!(lso.while_open.last_stable, 5);
    // The plain records after the open transaction are held back too.
    assert_eq!(lso.read_while_open, 5);
    assert_eq!(lso.committed_while_open, 5);
    // After the commit (its marker at 15) the member reads the other 10…
    assert_eq!(lso.after.high_watermark, 16);
    assert_eq!(lso.after.last_stable, 16);
    assert_eq!(lso.read_after, 10);
    // …and commits 15, one short of the end: the marker is never delivered,
    // so a lag of 1 remains (librdkafka #3917).
    assert_eq!(lso.committed_after, 15);
}

//! The lesson's deduplication by offset, without a broker.

use ch03_manual_commit::lesson::Deduplicator;

#[test]
fn the_deduplicator_applies_each_offset_once_and_skips_anything_at_or_below_the_highest_applied() {
    let mut dedupe = Deduplicator::default();
    let replay = [
        (0, 0),
        (0, 1),
        (1, 0),
        (0, 1),
        (0, 0),
        (0, 2),
        (1, 0),
        (1, 1),
    ];
    let applied: Vec<(i32, i64)> = replay
        .into_iter()
        .filter(|&(partition, offset)| dedupe.first_time(partition, offset))
        .collect();
    assert_eq!(applied, vec![(0, 0), (0, 1), (1, 0), (0, 2), (1, 1)]);
}

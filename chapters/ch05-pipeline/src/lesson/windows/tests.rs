//! The windows' unit tests: every crash point of the checkpoint replay.
use super::*;

const W: Windowing = Windowing {
    size_ms: 1000,
    grace_ms: 0,
};

fn event(id: u64, user: &str, time_ms: i64) -> Event {
    Event {
        id,
        user: user.into(),
        page: "/".into(),
        time_ms,
    }
}

fn counted(results: &[WindowResult]) -> Vec<u64> {
    let mut ids: Vec<u64> = results
        .iter()
        .flat_map(|r| r.event_ids.iter().copied())
        .collect();
    ids.sort_unstable();
    ids
}

#[test]
fn windows_close_when_the_watermark_passes_them() {
    let mut p = PartitionWindows::new(0, W, None, None);
    assert_eq!(p.add(0, &event(1, "a", 100)), Added::Open);
    assert_eq!(p.add(1, &event(2, "b", 900)), Added::Open);
    assert!(p.close_due(None).is_empty());
    assert_eq!(p.checkpoint().0, 0, "the open window holds the offset");
    p.add(2, &event(3, "a", 1000));
    let results = p.close_due(None);
    assert_eq!(counted(&results), [1, 2]);
    let pages: u64 = results
        .iter()
        .filter(|r| r.kind == Kind::Page as i32)
        .map(|r| r.events)
        .sum();
    assert_eq!(pages, 2);
    assert_eq!(
        p.checkpoint(),
        (
            2,
            Checkpoint {
                closed: 1000,
                next: 3
            }
        )
    );
}

#[test]
fn a_late_event_is_a_correction_and_an_idle_partition_closes() {
    let mut p = PartitionWindows::new(0, W, None, None);
    p.add(0, &event(1, "a", 100));
    p.add(1, &event(2, "a", 2100));
    assert_eq!(counted(&p.close_due(None)), [1]);
    assert_eq!(p.add(2, &event(3, "a", 500)), Added::Late);
    let results = p.close_due(None);
    assert!(results.iter().all(|r| r.late) && counted(&results) == [3]);
    assert_eq!(counted(&p.close_due(Some(5000))), [2], "idle close");
}

/// A restart re-reads from the committed offset: what was emitted is
/// skipped, what was open is counted again — every id exactly once.
#[test]
fn replay_from_the_checkpoint_counts_every_event_once() {
    let input: Vec<Event> = [100, 300, 1200, 400, 1500, 2100, 900, 2500, 3100]
        .iter()
        .enumerate()
        .map(|(i, t)| event(i as u64, "u", *t))
        .collect();
    for crash_after in 0..input.len() {
        // First owner: reads up to crash_after, commits, dies.
        let mut first = PartitionWindows::new(0, W, None, None);
        let mut emitted = Vec::new();
        for (offset, e) in input.iter().enumerate().take(crash_after + 1) {
            first.add(offset as i64, e);
            emitted.extend(first.close_due(None));
        }
        let (offset, checkpoint) = first.checkpoint();
        let checkpoint = Checkpoint::from_metadata(&checkpoint.to_metadata());
        // Second owner: from the committed offset to the end.
        let mut second = PartitionWindows::new(0, W, Some(offset), checkpoint);
        for (o, e) in input.iter().enumerate().skip(offset as usize) {
            second.add(o as i64, e);
            emitted.extend(second.close_due(None));
        }
        emitted.extend(second.close_due(Some(10_000)));
        assert_eq!(
            counted(&emitted),
            (0..input.len() as u64).collect::<Vec<_>>(),
            "crash after offset {crash_after}"
        );
    }
}

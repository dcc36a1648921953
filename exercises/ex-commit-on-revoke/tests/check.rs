//! Decides `ex-commit-on-revoke` on the real broker: member A processes all
//! 200 records of a 2-partition topic (storing each offset, never
//! committing), then member B joins. The rebalance takes partitions from A
//! and gives B one; B must find nothing left to process — every record is
//! processed once, by A. Without a commit on revoke B starts from the
//! beginning of its partition and repeats A's work.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ex_commit_on_revoke::{CommitOnRevoke, member_config};
use rdkafka::consumer::{Consumer, StreamConsumer};
use tokio_util::sync::CancellationToken;
use tutorial_lab::testing::{TestTopic, produce, test_cluster, unique_name};

type Member = StreamConsumer<CommitOnRevoke>;

#[tokio::test]
async fn the_next_owner_repeats_nothing() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "ex-revoke", 2, 1).await;
    produce(
        &cluster,
        &topic.name,
        (0..200).map(|i| (Some(format!("k{i}")), i.to_string())),
    )
    .await;
    let config = member_config(bootstrap, &unique_name("ex-revoke"));

    // Member A: process (count) and store, in a loop that also serves the
    // rebalance callbacks (they run inside recv).
    let a: Arc<Member> = Arc::new(config.create_with_context(CommitOnRevoke).unwrap());
    a.subscribe(&[&topic.name]).unwrap();
    let processed_by_a = Arc::new(AtomicUsize::new(0));
    let stop = CancellationToken::new();
    let loop_a = tokio::spawn({
        let (a, processed, stop) = (Arc::clone(&a), Arc::clone(&processed_by_a), stop.clone());
        async move {
            loop {
                let message = tokio::select! {
                    () = stop.cancelled() => return,
                    m = a.recv() => m,
                };
                if let Ok(message) = message {
                    processed.fetch_add(1, Ordering::SeqCst);
                    let _ = a.store_offset_from_message(&message);
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while processed_by_a.load(Ordering::SeqCst) < 200 {
        assert!(
            Instant::now() < deadline,
            "member A did not process 200 records within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Member B joins: the group rebalances and B gets one partition.
    let b: Member = config.create_with_context(CommitOnRevoke).unwrap();
    b.subscribe(&[&topic.name]).unwrap();
    let mut repeated = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut assigned_at = None;
    loop {
        if let Ok(Ok(_message)) = tokio::time::timeout(Duration::from_millis(200), b.recv()).await {
            repeated += 1;
        }
        let has_partition = b.assignment().map(|a| a.count() > 0).unwrap_or(false);
        match (has_partition, assigned_at) {
            (true, None) => assigned_at = Some(Instant::now()),
            // Five seconds of fetching after the assignment: enough for a
            // repeat to arrive (they are all on the broker already).
            (_, Some(at)) if at.elapsed() > Duration::from_secs(5) => break,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "member B got no partition within 60 s"
        );
    }
    stop.cancel();
    let _ = loop_a.await;

    // After the rebalance A keeps one partition; without a commit it, too,
    // starts that partition again from the beginning.
    let again_by_a = processed_by_a.load(Ordering::SeqCst) - 200;
    assert_eq!(
        (again_by_a, repeated),
        (0, 0),
        "records processed a second time after the rebalance: {again_by_a} by A, {repeated} by B — \
         A's stored offsets never reached the group before its partitions were taken away"
    );
}

//! `linger.ms` over a link with a real round trip (the lab's delaying relay
//! in front of the broker's `PROXIED` listener, which `cargo xtask kafka up`
//! provides): at a fixed offered load, a longer linger puts more records
//! into each Produce request. A behaviour, not a timing — the latencies and
//! throughput are measured by `cargo run --release -p bench-lab -- link`.

use std::time::Duration;

use ch04_tuning::lab::link::{LinkRun, over_link};
use ch04_tuning::lesson::ProducerSettings;
use tutorial_lab::testing::{test_cluster, within};

#[tokio::test(flavor = "multi_thread")]
async fn over_a_delayed_link_a_longer_linger_puts_more_records_into_each_produce_request() {
    let cluster = test_cluster();
    let (rate, records) = (2_000, 2_000);
    let runs: Vec<LinkRun> = [0, 20, 100]
        .into_iter()
        .map(|linger_ms| LinkRun {
            settings: ProducerSettings {
                linger_ms,
                ..ProducerSettings::default()
            },
            records,
            rate,
        })
        .collect();
    let rows = within(
        Duration::from_secs(180),
        "three runs over the delayed link",
        over_link(&cluster, Duration::from_millis(10), 3, 1000, &runs),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let per_request: Vec<(u64, f64)> = rows
        .iter()
        .map(|row| {
            assert_eq!(row.measured.records, records, "every record delivered");
            assert!(row.produce_requests > 0, "the link saw the requests");
            println!(
                "linger.ms={}: {} requests, {:.1} records/request",
                row.run.settings.linger_ms,
                row.produce_requests,
                row.records_per_request()
            );
            (row.run.settings.linger_ms, row.records_per_request())
        })
        .collect();
    let [(_, zero), (_, twenty), (_, hundred)] = per_request[..] else {
        panic!("three runs: {per_request:?}");
    };
    // At 2000 records/s, linger.ms=0 sends about one record per request;
    // 20 ms collects tens, 100 ms hundreds (rate × linger, on this load).
    assert!(zero < 5.0, "linger 0: {per_request:?}");
    assert!(twenty >= 2.0 * zero, "{per_request:?}");
    assert!(hundred >= 2.0 * twenty, "{per_request:?}");
}

//! Decides `ex-idempotent` on the real broker, with 二.5's lab: 3000
//! records through the proxy that withholds the broker's answers to the
//! first three batches, then the topic read back directly — every record
//! exactly once, in order, per partition.

use std::time::Duration;

use ch02_idempotence::lab::{Plan, Route, check_proxied_listener, delete_topic, trial_with};
use ex_idempotent::producer_config;
use tutorial_lab::testing::{test_cluster, unique_name, within};

#[tokio::test]
async fn lost_answers_leave_no_duplicates() {
    let cluster = test_cluster();
    let route = Route::default();
    if let Err(error) = check_proxied_listener(&route).await {
        panic!("this exercise needs the broker's PROXIED listener: {error:#}");
    }
    let config = producer_config(route.bootstrap());
    if let Err(error) = config.create::<rdkafka::producer::BaseProducer>() {
        panic!("librdkafka refuses this configuration: {error}");
    }
    let bootstrap = cluster.bootstrap_servers();
    let topic = unique_name("ex-idempotent");
    let plan = Plan {
        idempotent: true,
        records: 3000,
        partitions: 3,
        faults: 3,
    };
    let outcome = within(
        Duration::from_secs(120),
        "3000 records through the proxy",
        trial_with(bootstrap, &route, &topic, plan, &config),
    )
    .await;
    let _ = delete_topic(bootstrap, &topic).await;
    let outcome = outcome.unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        outcome.proxy.withheld > 0,
        "the proxy withheld no answer, so this run proves nothing: {:?}",
        outcome.proxy
    );
    let audit = outcome.audit;
    assert_eq!(audit.missing, 0, "records lost: {audit:?}");
    assert_eq!(
        audit.duplicates, 0,
        "{} records stored twice — retried batches were written again: {audit:?}",
        audit.duplicates
    );
    assert!(
        audit.exact,
        "not exactly once in send order per partition: {audit:?}"
    );
}

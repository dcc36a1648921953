//! The kafka-go side: the same numbered records, sent by a kafka-go `Writer`
//! (`go/main.go`) through the same fault proxy. kafka-go has no idempotent
//! producer, so there is no setting to compare: this is the Writer as it is.

use std::time::Duration;

use anyhow::Result;
use tutorial_lab::go::GoProgram;

use super::audit::{Audit, RetriedBatch, audit, read_back, retried_batches};
use super::proxy::{Faults, ProxyReport};
use super::{Plan, Route, topic_behind_proxy};

/// The first run compiles kafka-go; later runs come from Go's build cache.
const GO_LIMIT: Duration = Duration::from_secs(180);

/// The chapter's Go program (`go/main.go`): a kafka-go `Writer`.
pub fn program() -> GoProgram {
    GoProgram::new(concat!(env!("CARGO_MANIFEST_DIR"), "/go"))
}

/// What the kafka-go run did.
#[derive(Debug, Clone)]
pub struct GoOutcome {
    /// `WriteMessages` returned without an error.
    pub succeeded: bool,
    /// What the Go program printed.
    pub output: String,
    pub audit: Audit,
    pub proxy: ProxyReport,
    pub retried: Vec<RetriedBatch>,
}

// ANCHOR: kafka_go_trial
/// [`super::trial`] with a kafka-go `Writer` instead of librdkafka: the same
/// records, topic layout and faults.
pub async fn kafka_go_trial(
    bootstrap: &str,
    route: &Route,
    topic: &str,
    plan: Plan,
) -> Result<GoOutcome> {
    let faults = Faults {
        withhold: plan.faults,
        delay: Duration::ZERO,
    };
    let proxy = topic_behind_proxy(bootstrap, route, topic, plan.partitions, faults).await?;
    let records = plan.records.to_string();
    let args = [
        "-brokers",
        route.bootstrap(),
        "-topic",
        topic,
        "-records",
        &records,
    ];
    let run = program().run(&args, GO_LIMIT).await;
    let report = proxy.stop().await;
    let run = run?;
    let log = read_back(bootstrap, topic, plan.partitions).await?;
    Ok(GoOutcome {
        succeeded: run.success(),
        output: run.text().trim().to_string(),
        audit: audit(plan.records, plan.partitions, &log),
        retried: retried_batches(&report),
        proxy: report,
    })
}
// ANCHOR_END: kafka_go_trial

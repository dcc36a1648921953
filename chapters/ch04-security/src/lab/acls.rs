//! ACLs through Kafka's own `kafka-acls` (`org.apache.kafka.tools.AclCommand`).
//!
//! rdkafka 0.39's `AdminClient` has no ACL calls (librdkafka has
//! `rd_kafka_CreateAcls`, but only the unsafe `rdkafka-sys` bindings reach
//! it, and this workspace denies `unsafe`), so the lab runs the tool from
//! the same jars as the broker, as the admin user — or as another user, to
//! show that it is refused.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tutorial_lab::process::{Captured, run_bounded_async};

use rdkafka::ClientConfig;

use super::SecureNode;
use crate::lesson::{Produced, produce_counted};

/// One JVM start per call; generous, the machine may be busy.
const TOOL_LIMIT: Duration = Duration::from_secs(240);

/// What an ACL applies to.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    Topic(&'a str),
    Group(&'a str),
    TransactionalId(&'a str),
}

impl Resource<'_> {
    fn args(&self) -> [String; 2] {
        match self {
            Resource::Topic(name) => ["--topic".into(), name.to_string()],
            Resource::Group(name) => ["--group".into(), name.to_string()],
            Resource::TransactionalId(id) => ["--transactional-id".into(), id.to_string()],
        }
    }
}

/// Runs `kafka-acls --bootstrap-server <node> --command-config <user's> ARGS`
/// as `user` and returns what it printed (success or not).
pub async fn run_as(node: &SecureNode, user: &str, args: &[String]) -> Result<Captured> {
    let properties = if user == kafka_layout::secure::ADMIN {
        kafka_layout::secure::admin_properties()
    } else {
        node.tool_properties(user)?
    };
    let mut command = kafka_layout::tool_command("acls")?;
    command
        .arg("--bootstrap-server")
        .arg(&node.bootstrap)
        .arg("--command-config")
        .arg(properties)
        .args(args);
    run_bounded_async(command, TOOL_LIMIT, "kafka-acls", "")
        .await
        .context("running kafka-acls")
}

/// The arguments that allow `user` the `operations` on each of `resources`.
pub fn grant_args(user: &str, operations: &[&str], resources: &[Resource<'_>]) -> Vec<String> {
    let mut args = vec![
        "--add".to_string(),
        "--allow-principal".to_string(),
        format!("User:{user}"),
    ];
    for operation in operations {
        args.push("--operation".into());
        args.push(operation.to_string());
    }
    for resource in resources {
        args.extend(resource.args());
    }
    args
}

/// Allows `user` the `operations` on `resources`, as the admin.
pub async fn grant(
    node: &SecureNode,
    user: &str,
    operations: &[&str],
    resources: &[Resource<'_>],
) -> Result<()> {
    let args = grant_args(user, operations, resources);
    let output = run_as(node, kafka_layout::secure::ADMIN, &args).await?;
    if !output.success() {
        bail!(
            "kafka-acls {} failed ({}):\n{}",
            args.join(" "),
            output.status,
            output.text()
        );
    }
    Ok(())
}

/// ACLs reach the broker's authorizer through the metadata log a moment
/// after `kafka-acls` returns: retry a denied send for up to 30 s (a denied
/// send writes nothing, so retrying cannot duplicate).
pub async fn produce_when_allowed(config: &ClientConfig, topic: &str, records: usize) -> Produced {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let produced = produce_counted(config, topic, records).await;
        if produced.delivered == records || Instant::now() > deadline {
            return produced;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_arguments_name_principal_operations_and_resource() {
        assert_eq!(
            grant_args("alice", &["Write", "Read"], &[Resource::Topic("t")]).join(" "),
            "--add --allow-principal User:alice --operation Write --operation Read --topic t"
        );
        assert_eq!(
            grant_args(
                "bob",
                &["Read"],
                &[Resource::Topic("t"), Resource::Group("g")]
            )
            .join(" "),
            "--add --allow-principal User:bob --operation Read --topic t --group g"
        );
    }
}

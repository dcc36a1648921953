//! Kafka's own view of a group's lag: `kafka-consumer-groups --describe`,
//! the Java tool from the broker's distribution, run bounded and parsed.

use std::time::Duration;

use tutorial_lab::process::{RunError, run_bounded};

/// One row of `--describe` for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolRow {
    pub partition: i32,
    /// `CURRENT-OFFSET`: the committed offset (`None` for `-`).
    pub current: Option<i64>,
    /// `LOG-END-OFFSET`: the high watermark.
    pub log_end: i64,
    /// `LAG` (`None` for `-`).
    pub lag: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{0}")]
    Java(#[from] kafka_layout::JavaError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("kafka-consumer-groups failed ({status}):\n{output}")]
    Failed { status: String, output: String },
    #[error("no rows for topic {topic} in the output of kafka-consumer-groups:\n{output}")]
    NoRows { topic: String, output: String },
}

/// `kafka-consumer-groups --bootstrap-server B --describe --group G`, the
/// rows of `topic`, sorted by partition.
pub fn describe_group(
    bootstrap: &str,
    group: &str,
    topic: &str,
) -> Result<Vec<ToolRow>, ToolError> {
    let mut command = kafka_layout::tool_command("consumer-groups")?;
    command.args([
        "--bootstrap-server",
        bootstrap,
        "--describe",
        "--group",
        group,
    ]);
    let captured = run_bounded(
        command,
        Duration::from_secs(90),
        "kafka-consumer-groups --describe",
        "run `cargo xtask kafka up` once to fetch the Kafka jars",
    )?;
    let output = captured.text();
    if !captured.success() {
        return Err(ToolError::Failed {
            status: captured.status.to_string(),
            output,
        });
    }
    let rows = parse_describe(&captured.stdout, topic);
    if rows.is_empty() {
        return Err(ToolError::NoRows {
            topic: topic.into(),
            output,
        });
    }
    Ok(rows)
}

/// The rows of `topic` in `--describe` output, found by the header's
/// column names (the columns are separated by runs of spaces).
pub fn parse_describe(stdout: &str, topic: &str) -> Vec<ToolRow> {
    let mut lines = stdout.lines().map(str::split_whitespace);
    let Some(header) = lines.find(|l| l.clone().any(|c| c == "LOG-END-OFFSET")) else {
        return Vec::new();
    };
    let header: Vec<&str> = header.collect();
    let column = |name: &str| header.iter().position(|c| *c == name);
    let (Some(t), Some(p), Some(c), Some(e), Some(l)) = (
        column("TOPIC"),
        column("PARTITION"),
        column("CURRENT-OFFSET"),
        column("LOG-END-OFFSET"),
        column("LAG"),
    ) else {
        return Vec::new();
    };
    let mut rows: Vec<ToolRow> = lines
        .map(Iterator::collect::<Vec<&str>>)
        .filter(|cells| cells.get(t) == Some(&topic))
        .filter_map(|cells| {
            Some(ToolRow {
                partition: cells.get(p)?.parse().ok()?,
                current: cells.get(c)?.parse().ok(),
                log_end: cells.get(e)?.parse().ok()?,
                lag: cells.get(l)?.parse().ok(),
            })
        })
        .collect();
    rows.sort_by_key(|r| r.partition);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_describe_table_by_its_header() {
        let out = "\nConsumer group 'g' has no active members.\n\n\
            GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n\
            g               orders          1          30              80              50              -               -               -\n\
            g               orders          0          20              120             100             -               -               -\n\
            g               other           0          -               5               -               -               -               -\n";
        assert_eq!(
            parse_describe(out, "orders"),
            [
                ToolRow {
                    partition: 0,
                    current: Some(20),
                    log_end: 120,
                    lag: Some(100)
                },
                ToolRow {
                    partition: 1,
                    current: Some(30),
                    log_end: 80,
                    lag: Some(50)
                },
            ]
        );
        assert_eq!(
            parse_describe(out, "other"),
            [ToolRow {
                partition: 0,
                current: None,
                log_end: 5,
                lag: None
            }]
        );
        assert!(parse_describe("no table here", "orders").is_empty());
    }
}

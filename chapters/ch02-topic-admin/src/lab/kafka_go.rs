//! kafka-go's answers to CreateTopics, from the real broker: the chapter's
//! Go program (`go/main.go`, kafka-go pinned to v0.4.51 in `go.mod`) asks
//! for a topic through `kafka.Conn.CreateTopics` (the original outline's
//! way) and through `kafka.Client.CreateTopics`, and prints what each
//! returned.

use anyhow::{Context, Result, bail};
use tutorial_lab::go::{FIRST_BUILD_LIMIT, GoProgram};

/// The chapter's Go program.
pub fn program() -> GoProgram {
    GoProgram::new(concat!(env!("CARGO_MANIFEST_DIR"), "/go"))
}

/// What one kafka-go call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoAnswer {
    /// The Kafka error code: 0 for a nil error, -1 for an error that is not
    /// a `kafka.Error` (e.g. a network error).
    pub code: i32,
    /// `err.Error()`, or `<nil>`.
    pub error: String,
}

/// kafka-go's two answers to the same CreateTopics request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoCreate {
    /// `kafka.Conn.CreateTopics` (through the controller).
    pub conn: GoAnswer,
    /// `kafka.Client.CreateTopics`, the topic's entry in `Errors`.
    pub client: GoAnswer,
}

/// Asks for `topic` (with `key=value` topic configs) through both kafka-go
/// calls, one after the other.
pub async fn kafka_go_create(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> Result<GoCreate> {
    let partitions = partitions.to_string();
    let settings: Vec<String> = configs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut args = vec![
        "create",
        "-brokers",
        bootstrap,
        "-topic",
        topic,
        "-partitions",
        &partitions,
    ];
    for setting in &settings {
        args.extend(["-config", setting]);
    }
    let captured = program().run(&args, FIRST_BUILD_LIMIT).await?;
    if !captured.success() {
        bail!(
            "the kafka-go program failed ({}): {}",
            captured.status,
            captured.text()
        );
    }
    let answer = |api: &str| -> Result<GoAnswer> {
        let line = captured
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(api)?.strip_prefix(" code="))
            .with_context(|| format!("no `{api}` line in: {}", captured.stdout))?;
        let (code, error) = line
            .split_once(" error=")
            .with_context(|| format!("malformed line: {line}"))?;
        Ok(GoAnswer {
            code: code.parse().with_context(|| format!("code in: {line}"))?,
            error: error.to_string(),
        })
    };
    Ok(GoCreate {
        conn: answer("conn")?,
        client: answer("client")?,
    })
}

//! The Java side of the comparison: Kafka's own console producer, from the
//! same jars as the broker, with its default settings (so the Java
//! producer's default partitioner).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::AsyncWriteExt;

use super::landed::{end_offsets, into_map, read_landed};

/// The console producer starts a JVM: allow it a minute.
const JAVA_LIMIT: Duration = Duration::from_secs(60);

// ANCHOR: java_placements
/// The Java client's choice: Kafka's own console producer (from the same
/// jars as the broker, default settings) turns each `key:index` line into a
/// record with that key; an rdkafka consumer then reads where each landed.
pub async fn java_placements(
    bootstrap: &str,
    topic: &str,
    keys: &[&str],
) -> Result<BTreeMap<String, i32>> {
    let from = end_offsets(bootstrap, topic).await?;
    let console_producer = kafka_layout::tool_command("console-producer")?;
    let mut child = tokio::process::Command::from(console_producer)
        .args(["--bootstrap-server", bootstrap, "--topic", topic])
        .args(["--reader-property", "parse.key=true"])
        .args(["--reader-property", "key.separator=:"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting Kafka's Java console producer")?;
    let mut stdin = child.stdin.take().context("console producer stdin")?;
    let lines: String = keys
        .iter()
        .enumerate()
        .map(|(index, key)| format!("{key}:{index}\n"))
        .collect();
    stdin.write_all(lines.as_bytes()).await?;
    drop(stdin); // EOF: the console producer flushes its records, then exits
    let output = tokio::time::timeout(JAVA_LIMIT, child.wait_with_output())
        .await
        .with_context(|| {
            format!("the Java console producer did not finish within {JAVA_LIMIT:?}")
        })??;
    if !output.status.success() {
        bail!(
            "the Java console producer failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(into_map(
        read_landed(bootstrap, topic, &from, keys.len()).await?,
    ))
}
// ANCHOR_END: java_placements

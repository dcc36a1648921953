//! The other clients, given the same settings: Kafka's own perf tools
//! (`ProducerPerformance`, `ConsumerPerformance`, the Java client) from the
//! pinned jars, and kafka-go through the Go program in `go/`.
//!
//! Each is a command the bench runs as a child process; each prints a
//! summary this module turns into a [`RunResult`].

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{Acks, ConsumerSettings, ProducerSettings, RunResult};

// ---------------------------------------------------------------------------
// Java: org.apache.kafka.tools.ProducerPerformance / ConsumerPerformance
// ---------------------------------------------------------------------------

// ANCHOR: java_producer
/// `ProducerPerformance` with exactly our settings. Java's own defaults
/// differ (batch.size 16384, enable.idempotence true), so every setting the
/// bench varies is passed explicitly.
pub fn java_producer_command(
    bootstrap: &str,
    topic: &str,
    records: u64,
    settings: &ProducerSettings,
) -> Result<Command> {
    let mut command = kafka_layout::tool_command("producer-perf")?;
    command
        .args(["--bootstrap-server", bootstrap, "--topic", topic])
        .args(["--num-records", &records.to_string()])
        .args(["--record-size", &settings.record_size.to_string()])
        .args([
            "--throughput",
            &if settings.rate == 0 {
                "-1".to_string()
            } else {
                settings.rate.to_string()
            },
        ])
        .arg("--command-property")
        .arg(format!("acks={}", settings.acks.name()))
        .arg(format!("linger.ms={}", settings.linger_ms))
        .arg(format!("batch.size={}", settings.batch_size))
        .arg(format!("compression.type={}", settings.compression.name()))
        .arg(format!("enable.idempotence={}", settings.idempotence));
    Ok(command)
}
// ANCHOR_END: java_producer

/// Parses the summary line of `ProducerPerformance`:
/// `200000 records sent, 76248.57 records/sec (72.72 MB/sec), 288.24 ms avg
/// latency, 676.00 ms max latency, 215 ms 50th, 606 ms 95th, 643 ms 99th,
/// 665 ms 99.9th.`
pub fn parse_java_producer(output: &str, record_size: usize) -> Result<RunResult> {
    let line = output
        .lines()
        .rev()
        .find(|l| l.contains("records sent,") && l.contains("99.9th"))
        .context("no summary line (`N records sent, … 99.9th.`) in ProducerPerformance's output")?;
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let number = |index: usize, what: &str| -> Result<f64> {
        fields
            .get(index)
            .and_then(|f| f.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("cannot read {what} from `{line}`"))
    };
    let records = number(0, "the record count")? as u64;
    let rate = number(1, "records/sec")?;
    if rate <= 0.0 {
        bail!("ProducerPerformance reported a rate of {rate} records/sec: `{line}`");
    }
    Ok(RunResult {
        client: "Java".into(),
        records,
        bytes: records * record_size as u64,
        seconds: records as f64 / rate,
        p50_ms: Some(number(4, "the 50th percentile")?),
        p99_ms: Some(number(6, "the 99th percentile")?),
        p999_ms: Some(number(7, "the 99.9th percentile")?),
        errors: 0,
    })
}

// ANCHOR: java_consumer
/// `ConsumerPerformance` in its own group, from the beginning of the topic,
/// with the fetch settings that have a Java name.
pub fn java_consumer_command(
    bootstrap: &str,
    topic: &str,
    group: &str,
    records: u64,
    settings: &ConsumerSettings,
) -> Result<Command> {
    let mut command = kafka_layout::tool_command("consumer-perf")?;
    command
        .args(["--bootstrap-server", bootstrap, "--topic", topic])
        .args(["--group", group])
        .args(["--num-records", &records.to_string()])
        .args(["--timeout", "60000"])
        .arg("--command-property")
        .arg(format!("fetch.min.bytes={}", settings.fetch_min_bytes))
        .arg(format!("fetch.max.wait.ms={}", settings.fetch_wait_max_ms));
    Ok(command)
}
// ANCHOR_END: java_consumer

/// Parses `ConsumerPerformance`'s CSV summary (header line, then values):
/// `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
/// nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec`.
/// The time used is `fetch.time.ms` (without the group join), like ours.
pub fn parse_java_consumer(output: &str, record_size: usize) -> Result<RunResult> {
    let mut lines = output.lines();
    lines
        .by_ref()
        .find(|l| l.starts_with("start.time"))
        .context("no `start.time, …` header in ConsumerPerformance's output")?;
    let values = lines
        .next()
        .context("no values after ConsumerPerformance's header")?;
    let fields: Vec<&str> = values.split(',').map(str::trim).collect();
    if fields.len() < 10 {
        bail!(
            "ConsumerPerformance's summary has {} fields, expected 10: `{values}`",
            fields.len()
        );
    }
    let records: u64 = fields[4]
        .parse()
        .with_context(|| format!("data.consumed.in.nMsg in `{values}`"))?;
    let fetch_ms: f64 = fields[7]
        .parse()
        .with_context(|| format!("fetch.time.ms in `{values}`"))?;
    Ok(RunResult {
        client: "Java".into(),
        records,
        bytes: records * record_size as u64,
        seconds: fetch_ms.max(1.0) / 1000.0,
        p50_ms: None,
        p99_ms: None,
        p999_ms: None,
        errors: 0,
    })
}

// ---------------------------------------------------------------------------
// kafka-go: the Go program in go/
// ---------------------------------------------------------------------------

/// Where the chapter's Go program lives.
pub fn go_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go")
}

/// Builds the Go program once into `target/ch04-tuning/` (so no run pays
/// for compilation) and returns the binary.
pub fn build_go() -> Result<PathBuf> {
    let out_dir = kafka_layout::workspace().join("target").join("ch04-tuning");
    std::fs::create_dir_all(&out_dir)?;
    let binary = out_dir.join("kafka-go-bench");
    let child = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(go_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(error) => bail!(
            "cannot run `go` ({error}): the kafka-go comparison builds the Go program in {}; \
             install Go 1.23 or newer (https://go.dev/dl/) or pass --no-go",
            go_dir().display()
        ),
    };
    let output = crate::bench::wait_child(child, Duration::from_secs(300), "go build")?;
    if !output.status.success() {
        bail!(
            "go build failed in {}:\n{}",
            go_dir().display(),
            output.text
        );
    }
    Ok(binary)
}

// ANCHOR: go_producer
/// kafka-go's Writer with the same batching: `BatchTimeout` = linger.ms,
/// `BatchBytes` = batch.size, `BatchSize` (a record count) = as many
/// records as fit in batch.size, at most batch.num.messages.
pub fn go_producer_command(
    binary: &PathBuf,
    bootstrap: &str,
    topic: &str,
    records: u64,
    settings: &ProducerSettings,
) -> Command {
    let batch_records = (settings.batch_size / settings.record_size.max(1) as u64)
        .clamp(1, settings.batch_num_messages.max(1));
    // kafka-go treats BatchTimeout 0 as "use the default" (1 s): linger.ms=0
    // becomes the shortest timer instead.
    let batch_timeout = if settings.linger_ms == 0 {
        "1us".to_string()
    } else {
        format!("{}ms", settings.linger_ms)
    };
    let mut command = Command::new(binary);
    command
        .arg("produce")
        .args(["--brokers", bootstrap, "--topic", topic])
        .args(["--records", &records.to_string()])
        .args(["--size", &settings.record_size.to_string()])
        .args(["--acks", settings.acks.name()])
        .args(["--batch-size", &batch_records.to_string()])
        .args(["--batch-bytes", &settings.batch_size.to_string()])
        .args(["--batch-timeout", &batch_timeout])
        .args(["--compression", settings.compression.name()])
        .args(["--rate", &settings.rate.to_string()]);
    command
}
// ANCHOR_END: go_producer

/// kafka-go's Reader with a GroupID; MinBytes and MaxWait from our settings.
pub fn go_consumer_command(
    binary: &PathBuf,
    bootstrap: &str,
    topic: &str,
    group: &str,
    records: u64,
    settings: &ConsumerSettings,
) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("consume")
        .args(["--brokers", bootstrap, "--topic", topic, "--group", group])
        .args(["--records", &records.to_string()])
        .args(["--min-bytes", &settings.fetch_min_bytes.to_string()])
        .args(["--max-wait", &format!("{}ms", settings.fetch_wait_max_ms)]);
    command
}

/// kafka-go's synchronous `WriteMessages`, one message per call.
pub fn go_sync_trap_command(
    binary: &PathBuf,
    bootstrap: &str,
    topic: &str,
    records: u64,
    batch_timeout: Option<Duration>,
) -> Command {
    let mut command = Command::new(binary);
    command
        .arg("sync-trap")
        .args(["--brokers", bootstrap, "--topic", topic])
        .args(["--records", &records.to_string()]);
    if let Some(timeout) = batch_timeout {
        command.args(["--batch-timeout", &format!("{}ms", timeout.as_millis())]);
    }
    command
}

/// Whether a peer supports the settings: kafka-go has no idempotent
/// producer (kafka-go issue #797).
pub fn go_supports(settings: &ProducerSettings) -> bool {
    !settings.idempotence
}

/// Whether acks=0 results can be checked: nothing confirms those records.
pub fn acknowledged(settings: &ProducerSettings) -> bool {
    settings.acks != Acks::Zero
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_producer_summary_is_parsed() {
        let output = "100000 records sent, 50000.0 records/sec (47.68 MB/sec), 20.1 ms avg latency, 200.0 ms max latency.\n\
            200000 records sent, 76248.570339 records/sec (72.72 MB/sec), 288.24 ms avg latency, 676.00 ms max latency, 215 ms 50th, 606 ms 95th, 643 ms 99th, 665 ms 99.9th.\n";
        let r = parse_java_producer(output, 1000).unwrap();
        assert_eq!(r.records, 200_000);
        assert!((r.records_per_second() - 76248.57).abs() < 0.1);
        assert_eq!(
            (r.p50_ms, r.p99_ms, r.p999_ms),
            (Some(215.0), Some(643.0), Some(665.0))
        );
        assert!(parse_java_producer("nothing", 1).is_err());
    }

    #[test]
    fn java_consumer_summary_is_parsed() {
        let output = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n\
            2026-11-25 01:38:35:625, 2026-11-25 01:38:36:886, 190.7349, 151.2568, 200000, 158604.2823, 355, 906, 210.5241, 220750.5519\n";
        let r = parse_java_consumer(output, 1000).unwrap();
        assert_eq!(r.records, 200_000);
        assert!((r.seconds - 0.906).abs() < 1e-9);
        assert!(parse_java_consumer("start.time, x\n1, 2\n", 1).is_err());
    }

    #[test]
    fn go_batching_follows_the_librdkafka_settings() {
        let settings = ProducerSettings {
            record_size: 1000,
            linger_ms: 0,
            ..ProducerSettings::default()
        };
        let command = go_producer_command(&PathBuf::from("x"), "b", "t", 10, &settings);
        let args: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let joined = args.join(" ");
        assert!(joined.contains("--batch-size 1000"), "{joined}");
        assert!(joined.contains("--batch-bytes 1000000"), "{joined}");
        assert!(joined.contains("--batch-timeout 1us"), "{joined}");
        assert!(joined.contains("--acks all"), "{joined}");
    }
}

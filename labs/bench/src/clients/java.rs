//! Kafka's own perf tools (`ProducerPerformance`, `ConsumerPerformance`, the
//! Java client) from the pinned jars. They take flags, not our JSON, and
//! print summaries in their own format, parsed here into a [`RunResult`].

use std::process::Command;

use anyhow::{Context, Result, bail};

use super::{ConsumerSpec, ProducerSpec, RunResult, RunSpec, Work};

/// The perf tool command for `spec`.
pub fn command(spec: &RunSpec) -> Result<Command> {
    match &spec.work {
        Work::Produce(settings) => producer_command(spec, settings),
        Work::Consume { group, settings } => consumer_command(spec, group, settings),
        Work::SyncSends { .. } => {
            bail!("the Java perf tools have no synchronous one-record mode")
        }
    }
}

// ANCHOR: java_producer
/// `ProducerPerformance` with exactly our settings. Java's own defaults
/// differ (batch.size 16384, enable.idempotence true), so every setting the
/// bench varies is passed explicitly.
fn producer_command(spec: &RunSpec, settings: &ProducerSpec) -> Result<Command> {
    let mut command = kafka_layout::tool_command("producer-perf")?;
    command
        .args([
            "--bootstrap-server",
            &spec.bootstrap,
            "--topic",
            &spec.topic,
        ])
        .args(["--num-records", &spec.records.to_string()])
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

// ANCHOR: java_consumer
/// `ConsumerPerformance` in its own group, from the beginning of the topic,
/// with the fetch settings that have a Java name.
fn consumer_command(spec: &RunSpec, group: &str, settings: &ConsumerSpec) -> Result<Command> {
    let mut command = kafka_layout::tool_command("consumer-perf")?;
    command
        .args([
            "--bootstrap-server",
            &spec.bootstrap,
            "--topic",
            &spec.topic,
        ])
        .args(["--group", group])
        .args(["--num-records", &spec.records.to_string()])
        .args(["--timeout", "60000"])
        .arg("--command-property")
        .arg(format!("fetch.min.bytes={}", settings.fetch_min_bytes))
        .arg(format!("fetch.max.wait.ms={}", settings.fetch_wait_max_ms));
    Ok(command)
}
// ANCHOR_END: java_consumer

/// Parses the summary line of `ProducerPerformance`:
/// `200000 records sent, 76248.57 records/sec (72.72 MB/sec), 288.24 ms avg
/// latency, 676.00 ms max latency, 215 ms 50th, 606 ms 95th, 643 ms 99th,
/// 665 ms 99.9th.`
pub fn parse_producer(output: &str, record_size: usize) -> Result<RunResult> {
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
        records,
        bytes: records * record_size as u64,
        seconds: records as f64 / rate,
        p50_ms: Some(number(4, "the 50th percentile")?),
        p99_ms: Some(number(6, "the 99th percentile")?),
        p999_ms: Some(number(7, "the 99.9th percentile")?),
        errors: 0,
    })
}

/// Parses `ConsumerPerformance`'s CSV summary (header line, then values):
/// `start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,
/// nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec`.
/// The time used is `fetch.time.ms` (without the group join), like ours.
pub fn parse_consumer(output: &str, record_size: usize) -> Result<RunResult> {
    let mut lines = output.lines();
    lines
        .by_ref()
        .find(|l| l.starts_with("start.time"))
        .context("no `start.time, …` header in ConsumerPerformance's output")?;
    let values = lines
        .next()
        .context("no values after ConsumerPerformance's header")?;
    let fields: Vec<&str> = values.split(',').map(str::trim).collect();
    let (10.., Some(count), Some(fetch_time)) = (fields.len(), fields.get(4), fields.get(7)) else {
        bail!(
            "ConsumerPerformance's summary has {} fields, expected 10: `{values}`",
            fields.len()
        );
    };
    let records: u64 = count
        .parse()
        .with_context(|| format!("data.consumed.in.nMsg in `{values}`"))?;
    let fetch_ms: f64 = fetch_time
        .parse()
        .with_context(|| format!("fetch.time.ms in `{values}`"))?;
    Ok(RunResult {
        records,
        bytes: records * record_size as u64,
        seconds: fetch_ms.max(1.0) / 1000.0,
        p50_ms: None,
        p99_ms: None,
        p999_ms: None,
        errors: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_producer_summary_is_parsed() {
        let output = "100000 records sent, 50000.0 records/sec (47.68 MB/sec), 20.1 ms avg latency, 200.0 ms max latency.\n\
            200000 records sent, 76248.570339 records/sec (72.72 MB/sec), 288.24 ms avg latency, 676.00 ms max latency, 215 ms 50th, 606 ms 95th, 643 ms 99th, 665 ms 99.9th.\n";
        let r = parse_producer(output, 1000).unwrap();
        assert_eq!(r.records, 200_000);
        assert!((r.records_per_second() - 76248.57).abs() < 0.1);
        assert_eq!(
            (r.p50_ms, r.p99_ms, r.p999_ms),
            (Some(215.0), Some(643.0), Some(665.0))
        );
        assert!(parse_producer("nothing", 1).is_err());
    }

    #[test]
    fn java_consumer_summary_is_parsed() {
        let output = "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n\
            2026-11-25 01:38:35:625, 2026-11-25 01:38:36:886, 190.7349, 151.2568, 200000, 158604.2823, 355, 906, 210.5241, 220750.5519\n";
        let r = parse_consumer(output, 1000).unwrap();
        assert_eq!(r.records, 200_000);
        assert!((r.seconds - 0.906).abs() < 1e-9);
        assert!(parse_consumer("start.time, x\n1, 2\n", 1).is_err());
    }
}

//! The bench's results: medians and spread per client, the ratio table
//! (ours ÷ peer, per configuration, from the same run), the machine, and
//! the markdown and JSON files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::clients::{Client, ConsumerSpec, ProducerSpec, Role, RunResult};
use crate::plan::{Mode, Plan, Sweep};
use crate::run::{CaseRuns, Machine, Measurements, Sample, TrapRun};

/// Everything one bench run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchReport {
    pub mode: Mode,
    pub partitions: i32,
    pub runs: usize,
    pub warmup: bool,
    pub machine: Machine,
    pub produce: Vec<CaseResult>,
    pub consume: Vec<CaseResult>,
    pub trap: Vec<TrapRow>,
    pub elapsed_seconds: f64,
}

impl BenchReport {
    /// Aggregates what `plan` measured.
    pub fn new(plan: &Plan, measured: Measurements) -> BenchReport {
        BenchReport {
            mode: plan.mode,
            partitions: plan.partitions,
            runs: plan.runs,
            warmup: plan.warmup,
            machine: measured.machine,
            produce: measured.produce.into_iter().map(CaseResult::new).collect(),
            consume: measured.consume.into_iter().map(CaseResult::new).collect(),
            trap: measured.trap.iter().map(TrapRow::new).collect(),
            elapsed_seconds: measured.elapsed_seconds,
        }
    }
}

/// One configuration, every client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub sweep: Sweep,
    pub role: Role,
    pub label: String,
    pub producer: Option<ProducerSpec>,
    pub consumer: Option<ConsumerSpec>,
    pub record_size: usize,
    pub records: u64,
    pub clients: Vec<ClientSummary>,
}

impl CaseResult {
    fn new(runs: CaseRuns) -> CaseResult {
        let (label, record_size) = match (&runs.producer, &runs.consumer) {
            (Some(p), _) => (p.label(), p.record_size),
            (None, Some(c)) => (format!("{} B {}", c.record_size, c.label()), c.record_size),
            (None, None) => (String::new(), 0),
        };
        CaseResult {
            sweep: runs.sweep,
            role: runs.role,
            label,
            producer: runs.producer,
            consumer: runs.consumer,
            record_size,
            records: runs.records,
            clients: runs
                .clients
                .into_iter()
                .map(|(client, samples)| ClientSummary::from_samples(client, runs.role, samples))
                .collect(),
        }
    }

    pub fn client(&self, client: Client) -> Option<&ClientSummary> {
        self.clients.iter().find(|c| c.client == client)
    }
}

/// One client's runs of one configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientSummary {
    pub client: Client,
    /// The client's name for this role (`BaseProducer`, `Java`, …).
    pub label: String,
    pub samples: Vec<Sample>,
    pub records_per_second: f64,
    pub min_records_per_second: f64,
    pub max_records_per_second: f64,
    pub mib_per_second: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    /// user+sys CPU seconds of the client process per million records.
    pub cpu_seconds_per_million: f64,
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    match (
        sorted.len() % 2,
        mid.checked_sub(1).and_then(|m| sorted.get(m)),
        sorted.get(mid),
    ) {
        (1, _, Some(middle)) => *middle,
        (0, Some(low), Some(high)) => (low + high) / 2.0,
        _ => 0.0,
    }
}

fn median_of(samples: &[Sample], f: impl Fn(&RunResult) -> Option<f64>) -> Option<f64> {
    let values: Vec<f64> = samples.iter().filter_map(|s| f(&s.result)).collect();
    (!values.is_empty()).then(|| median(&values))
}

impl ClientSummary {
    pub fn from_samples(client: Client, role: Role, samples: Vec<Sample>) -> ClientSummary {
        let rates: Vec<f64> = samples
            .iter()
            .map(|s| s.result.records_per_second())
            .collect();
        let mib: Vec<f64> = samples.iter().map(|s| s.result.mib_per_second()).collect();
        let cpu: Vec<f64> = samples
            .iter()
            .map(|s| s.cpu_seconds / (s.result.records.max(1) as f64) * 1e6)
            .collect();
        ClientSummary {
            client,
            label: client.label(role).to_string(),
            records_per_second: median(&rates),
            min_records_per_second: rates.iter().copied().fold(f64::INFINITY, f64::min),
            max_records_per_second: rates.iter().copied().fold(0.0, f64::max),
            mib_per_second: median(&mib),
            p50_ms: median_of(&samples, |r| r.p50_ms),
            p99_ms: median_of(&samples, |r| r.p99_ms),
            p999_ms: median_of(&samples, |r| r.p999_ms),
            cpu_seconds_per_million: median(&cpu),
            samples,
        }
    }

    /// The spread of the runs: (max − min) / median, in percent.
    pub fn spread_percent(&self) -> f64 {
        if self.records_per_second <= 0.0 {
            return 0.0;
        }
        (self.max_records_per_second - self.min_records_per_second) / self.records_per_second
            * 100.0
    }
}

/// kafka-go's and librdkafka's synchronous one-record-at-a-time sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrapRow {
    pub client: String,
    pub setting: String,
    pub records: u64,
    pub seconds: f64,
    pub per_call_ms: f64,
}

impl TrapRow {
    fn new(run: &TrapRun) -> TrapRow {
        let (client, setting) = match (run.client, run.linger_ms) {
            (Client::KafkaGo, None) => (
                "kafka-go WriteMessages",
                "BatchTimeout = 1s (default)".into(),
            ),
            (Client::KafkaGo, Some(ms)) => {
                ("kafka-go WriteMessages", format!("BatchTimeout = {ms}ms"))
            }
            (_, None) => (
                "FutureProducer send().await",
                "linger.ms = 5 (default)".into(),
            ),
            (_, Some(ms)) => ("FutureProducer send().await", format!("linger.ms = {ms}")),
        };
        TrapRow {
            client: client.into(),
            setting,
            records: run.result.records,
            seconds: run.result.seconds,
            per_call_ms: run.result.p50_ms.unwrap_or(0.0),
        }
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{v:.1}"))
}

/// One row of the ratio table.
#[derive(Debug, Clone, PartialEq)]
pub struct Ratio {
    pub role: Role,
    pub case: String,
    pub ours: String,
    pub peer: String,
    pub ours_rate: f64,
    pub peer_rate: f64,
}

impl Ratio {
    pub fn value(&self) -> f64 {
        self.ours_rate / self.peer_rate
    }
}

/// ours ÷ peer, records/s medians, for every configuration that has both:
/// `BaseProducer`/`BaseConsumer` (librdkafka's defaults) and the recommended
/// settings against each peer, and `ThreadedProducer`, `FutureProducer` and
/// the permit pattern against `BaseProducer`.
pub fn ratios(report: &BenchReport) -> Vec<Ratio> {
    let mut rows = Vec::new();
    // At a fixed offered load every client reaches the same rate: those
    // cases are about latency, not a throughput ratio.
    let throughput_cases = report
        .produce
        .iter()
        .filter(|c| c.producer.as_ref().is_none_or(|p| p.rate == 0))
        .chain(&report.consume);
    // librdkafka's defaults and the recommended settings against each peer;
    // the other ways of driving our client against `BaseProducer`.
    let pairs = Client::PEERS
        .iter()
        .flat_map(|peer| {
            [
                (Client::RustBase, *peer),
                (Client::RustRecommended, *peer),
                (Client::RustInstances, *peer),
            ]
        })
        .chain(
            [
                Client::RustThreaded,
                Client::RustFuture,
                Client::RustPermits,
            ]
            .map(|ours| (ours, Client::RustBase)),
        )
        .collect::<Vec<_>>();
    for case in throughput_cases {
        for (ours, peer) in pairs
            .iter()
            .filter_map(|(o, p)| Some((case.client(*o)?, case.client(*p)?)))
        {
            if ours.records_per_second > 0.0 && peer.records_per_second > 0.0 {
                rows.push(Ratio {
                    role: case.role,
                    case: case.label.clone(),
                    ours: ours.label.clone(),
                    peer: peer.label.clone(),
                    ours_rate: ours.records_per_second,
                    peer_rate: peer.records_per_second,
                });
            }
        }
    }
    rows
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Produce => "produce",
        Role::Consume => "consume",
    }
}

/// The ratio table alone, in markdown.
pub fn render_ratios(report: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| role | configuration | ours | peer | ours rec/s | peer rec/s | ours ÷ peer |"
    );
    let _ = writeln!(out, "| --- | --- | --- | --- | ---: | ---: | ---: |");
    for r in ratios(report) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {:.0} | {:.2} |",
            role_name(r.role),
            r.case,
            r.ours,
            r.peer,
            r.ours_rate,
            r.peer_rate,
            r.value()
        );
    }
    out
}

/// The whole report in markdown: per-configuration tables, ratios, the
/// synchronous-send trap.
pub fn render(report: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", report.machine.describe_line());
    let _ = writeln!(
        out,
        "mode {:?}: {} measured run(s) per client and configuration{}, medians; topics with {} partitions, replication 1; {:.0} s in all\n",
        report.mode,
        report.runs,
        if report.warmup {
            " after one warm-up run"
        } else {
            ""
        },
        report.partitions,
        report.elapsed_seconds
    );
    for (title, cases) in [
        ("Producers", &report.produce),
        ("Consumers", &report.consume),
    ] {
        if cases.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        let _ = writeln!(
            out,
            "| configuration | client | rec/s (median) | spread | MiB/s | p50 ms | p99 ms | p99.9 ms | CPU s / 1M rec |"
        );
        let _ = writeln!(
            out,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for case in cases {
            for c in &case.clients {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.0} | ±{:.0}% | {:.1} | {} | {} | {} | {:.2} |",
                    case.label,
                    c.label,
                    c.records_per_second,
                    c.spread_percent() / 2.0,
                    c.mib_per_second,
                    ms(c.p50_ms),
                    ms(c.p99_ms),
                    ms(c.p999_ms),
                    c.cpu_seconds_per_million
                );
            }
        }
        out.push('\n');
    }
    let _ = writeln!(out, "### Ratios (same run, same broker, same settings)\n");
    out.push_str(&render_ratios(report));
    if !report.trap.is_empty() {
        let _ = writeln!(out, "\n### One record per synchronous call\n");
        let _ = writeln!(out, "| client | setting | calls | ms per call (median) |");
        let _ = writeln!(out, "| --- | --- | ---: | ---: |");
        for t in &report.trap {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1} |",
                t.client, t.setting, t.records, t.per_call_ms
            );
        }
    }
    out
}

/// Reads the ratio rows back from [`render_ratios`]' markdown (for tests
/// and for anyone post-processing the output): (configuration, ours, peer,
/// ratio).
pub fn parse_ratio_table(markdown: &str) -> Vec<(String, String, String, f64)> {
    markdown
        .lines()
        .filter(|l| l.starts_with("| produce |") || l.starts_with("| consume |"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let [_, case, ours, peer, _, _, ratio] = cells.as_slice() else {
                return None;
            };
            Some((
                case.to_string(),
                ours.to_string(),
                peer.to_string(),
                ratio.parse().ok()?,
            ))
        })
        .collect()
}

/// Writes the report as `bench-<mode>.json` and `bench-<mode>.md` into `dir`.
pub fn save(report: &BenchReport, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = report.mode.name();
    let json = dir.join(format!("bench-{name}.json"));
    std::fs::write(&json, serde_json::to_string_pretty(report)?)?;
    let markdown = dir.join(format!("bench-{name}.md"));
    std::fs::write(&markdown, render(report))?;
    Ok((json, markdown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}

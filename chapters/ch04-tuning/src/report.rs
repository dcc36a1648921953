//! The bench's results: medians and spread per client, the ratio table
//! (ours ÷ peer, per configuration, from the same run), and the machine.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::bench::{Mode, Sample};
use crate::{ConsumerSettings, ProducerSettings, RunResult};

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

/// One configuration, every client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub sweep: String,
    pub label: String,
    pub producer: Option<ProducerSettings>,
    pub consumer: Option<ConsumerSettings>,
    pub record_size: usize,
    pub records: u64,
    pub clients: Vec<ClientSummary>,
}

impl CaseResult {
    pub fn client(&self, name: &str) -> Option<&ClientSummary> {
        self.clients.iter().find(|c| c.client == name)
    }
}

/// One client's runs of one configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientSummary {
    pub client: String,
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
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn median_of(samples: &[Sample], f: impl Fn(&RunResult) -> Option<f64>) -> Option<f64> {
    let values: Vec<f64> = samples.iter().filter_map(|s| f(&s.result)).collect();
    (!values.is_empty()).then(|| median(&values))
}

impl ClientSummary {
    pub fn from_samples(client: &str, samples: Vec<Sample>) -> ClientSummary {
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
            client: client.to_string(),
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
    pub fn new(client: &str, setting: &str, result: &RunResult) -> TrapRow {
        TrapRow {
            client: client.into(),
            setting: setting.into(),
            records: result.records,
            seconds: result.seconds,
            per_call_ms: result.p50_ms.unwrap_or(0.0),
        }
    }
}

/// The machine and the versions, for the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub librdkafka: String,
    pub kafka: String,
    pub java: String,
    pub go: String,
    pub kafka_go: String,
}

impl Machine {
    pub fn describe(with_go: bool) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "unknown CPU".into());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
        let (_, librdkafka) = rdkafka::util::get_rdkafka_version();
        let java = std::process::Command::new("java")
            .arg("-version")
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .next()
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "not found".into());
        let go = if with_go {
            std::process::Command::new("go")
                .arg("version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|| "not found".into())
        } else {
            "not used".into()
        };
        let kafka_go = std::fs::read_to_string(crate::peers::go_dir().join("go.mod"))
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.contains("segmentio/kafka-go"))
                    .and_then(|l| l.split_whitespace().last())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_gib,
            librdkafka,
            kafka: kafka_layout::KAFKA_VERSION.to_string(),
            java,
            go,
            kafka_go,
        }
    }

    pub fn describe_line(&self) -> String {
        format!(
            "machine: {} × {} cores, {:.0} GiB; broker Apache Kafka {} (single node, same machine); \
             librdkafka {}; {}; {}; kafka-go {}",
            self.cpu,
            self.cores,
            self.memory_gib,
            self.kafka,
            self.librdkafka,
            self.java,
            self.go,
            self.kafka_go
        )
    }
}

fn ms(value: Option<f64>) -> String {
    value.map_or("–".into(), |v| format!("{v:.1}"))
}

/// The peers each of our clients is compared with.
pub const PEERS: [&str; 2] = ["Java", "kafka-go"];
/// Our producer clients.
pub const OURS: [&str; 3] = ["BaseProducer", "ThreadedProducer", "FutureProducer"];

/// One row of the ratio table.
#[derive(Debug, Clone, PartialEq)]
pub struct Ratio {
    pub role: &'static str,
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

/// ours ÷ peer, records/s medians, for every configuration that has both.
pub fn ratios(report: &BenchReport) -> Vec<Ratio> {
    let mut rows = Vec::new();
    let mut add = |role: &'static str, case: &CaseResult, ours: &[&str]| {
        for our in ours {
            let Some(o) = case.client(our) else { continue };
            for peer in PEERS {
                let Some(p) = case.client(peer) else { continue };
                if o.records_per_second > 0.0 && p.records_per_second > 0.0 {
                    rows.push(Ratio {
                        role,
                        case: case.label.clone(),
                        ours: o.client.clone(),
                        peer: p.client.clone(),
                        ours_rate: o.records_per_second,
                        peer_rate: p.records_per_second,
                    });
                }
            }
        }
    };
    // At a fixed offered load every client reaches the same rate: those
    // cases are about latency, not a throughput ratio.
    for case in report
        .produce
        .iter()
        .filter(|c| c.producer.as_ref().is_none_or(|p| p.rate == 0))
    {
        add("produce", case, &OURS);
    }
    for case in &report.consume {
        add("consume", case, &["BaseConsumer"]);
    }
    rows
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
            r.role,
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
                    c.client,
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
            if cells.len() != 7 {
                return None;
            }
            Some((
                cells[1].to_string(),
                cells[2].to_string(),
                cells[3].to_string(),
                cells[6].parse().ok()?,
            ))
        })
        .collect()
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

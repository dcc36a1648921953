//! Who runs in the bench, and how each client is started.
//!
//! Every run is one child process: ours (this crate's binary, `bench-lab
//! child '<RunSpec JSON>'`, which calls the chapter's lesson functions),
//! kafka-go or franz-go (the Go programs `labs/bench/go/kafkago` and
//! `labs/bench/go/franz`, given the same JSON), or Kafka's own Java perf tools
//! (which take flags, built in [`java`]). Each child answers with a
//! [`RunResult`]: ours and the Go peers print it as a `RESULT {json}` line,
//! the Java tools' summaries are parsed.
//!
//! This module imports nothing else of the lab: the plan, the runner, the
//! report and the charts build on it.

pub mod go;
pub mod java;
pub mod spec;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result};
use ch04_tuning::lesson::Measured;
use serde::{Deserialize, Serialize};

pub use spec::{ConsumerSpec, ProducerSpec};

/// Producing or consuming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Produce,
    Consume,
}

/// A client of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Client {
    /// rust-rdkafka's `BaseProducer` (we poll) / `BaseConsumer`
    RustBase,
    /// rust-rdkafka's `ThreadedProducer` (a background thread polls)
    RustThreaded,
    /// rust-rdkafka's `FutureProducer` (one future per record)
    RustFuture,
    /// `FutureProducer` with its futures in the sending task's own bounded
    /// `FuturesUnordered` (the lesson's `window_loop`)
    RustFutureWindow,
    /// `ThreadedProducer` from async code, a semaphore permit per record
    /// returned by the delivery callback (the lesson's `permit_loop`)
    RustPermits,
    /// The page's recommended settings on top of the case's: producing,
    /// `ThreadedProducer` with `small_records()` / `large_records()` (by
    /// record size); consuming, `BaseConsumer` with `fast_consumer()`
    RustRecommended,
    /// [`Client::RustRecommended`]'s producer, [`INSTANCES`] of them in one
    /// process, each sending its share to the same topic (each with its own
    /// connections and librdkafka threads): the workaround for one
    /// producer's ceiling that 附录 E measures
    RustInstances,
    /// Kafka's `ProducerPerformance` / `ConsumerPerformance` (the Java client)
    JavaPerf,
    /// segmentio/kafka-go's `Writer` / `Reader`
    KafkaGo,
    /// twmb/franz-go's `kgo.Client` (producing and group consuming)
    FranzGo,
}

/// Producers of a [`Client::RustInstances`] run: one per core of this machine.
pub const INSTANCES: u64 = 2;

impl Client {
    /// Every producing client, ours first.
    pub const PRODUCERS: [Client; 9] = [
        Client::RustBase,
        Client::RustThreaded,
        Client::RustFuture,
        Client::RustPermits,
        Client::RustRecommended,
        Client::RustInstances,
        Client::JavaPerf,
        Client::KafkaGo,
        Client::FranzGo,
    ];
    /// Our producer types.
    pub const OURS: [Client; 7] = [
        Client::RustBase,
        Client::RustThreaded,
        Client::RustFuture,
        Client::RustFutureWindow,
        Client::RustPermits,
        Client::RustRecommended,
        Client::RustInstances,
    ];
    /// The clients ours are compared with.
    pub const PEERS: [Client; 3] = [Client::JavaPerf, Client::KafkaGo, Client::FranzGo];

    /// The name in tables, charts and progress lines.
    pub fn label(self, role: Role) -> &'static str {
        match (self, role) {
            (Client::RustBase, Role::Produce) => "BaseProducer",
            (Client::RustBase, Role::Consume) => "BaseConsumer",
            (Client::RustThreaded, _) => "ThreadedProducer",
            (Client::RustFuture, _) => "FutureProducer",
            (Client::RustFutureWindow, _) => "FutureProducer window",
            (Client::RustPermits, _) => "ThreadedProducer permits",
            (Client::RustRecommended, Role::Produce) => "ThreadedProducer recommended",
            (Client::RustRecommended, Role::Consume) => "BaseConsumer recommended",
            (Client::RustInstances, _) => "ThreadedProducer recommended x2",
            (Client::JavaPerf, _) => "Java",
            (Client::KafkaGo, _) => "kafka-go",
            (Client::FranzGo, _) => "franz-go",
        }
    }

    pub fn is_ours(self) -> bool {
        Client::OURS.contains(&self)
    }

    /// Whether this client can run `role` with these producer settings:
    /// only `BaseConsumer` of ours consumes, and kafka-go has no idempotent
    /// producer (segmentio/kafka-go#233, open); franz-go has one (its default).
    pub fn supports(self, role: Role, producer: Option<&ProducerSpec>) -> bool {
        match (self, role) {
            (
                Client::RustThreaded
                | Client::RustFuture
                | Client::RustFutureWindow
                | Client::RustPermits
                | Client::RustInstances,
                Role::Consume,
            ) => false,
            (Client::KafkaGo, Role::Produce) => producer.is_none_or(|p| !p.idempotence),
            _ => true,
        }
    }
}

// ANCHOR: run_spec
/// What one child process is asked to do: everything it needs, as one
/// JSON document (its only argument).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    pub client: Client,
    pub bootstrap: String,
    pub topic: String,
    pub records: u64,
    pub work: Work,
}

/// The three kinds of run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Work {
    /// Send `records` records of `record_size` bytes with these settings.
    Produce(ProducerSpec),
    /// Read `records` records in a fresh consumer group from the beginning.
    Consume {
        group: String,
        #[serde(flatten)]
        settings: ConsumerSpec,
    },
    /// One record per synchronous send, each awaited before the next: the
    /// batch timer (`linger.ms`, kafka-go's `BatchTimeout`) in milliseconds,
    /// or the client's default.
    SyncSends { linger_ms: Option<u64> },
}
// ANCHOR_END: run_spec

impl RunSpec {
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).context("encoding the run spec")
    }

    pub fn from_json(text: &str) -> Result<RunSpec> {
        serde_json::from_str(text).with_context(|| format!("not a run spec: {text}"))
    }

    pub fn role(&self) -> Role {
        match self.work {
            Work::Consume { .. } => Role::Consume,
            Work::Produce(_) | Work::SyncSends { .. } => Role::Produce,
        }
    }

    /// Bytes per record, for clients that report records only.
    pub fn record_size(&self) -> usize {
        match &self.work {
            Work::Produce(p) => p.record_size,
            Work::Consume { settings, .. } => settings.record_size,
            Work::SyncSends { .. } => 0,
        }
    }
}

/// What one client run measured. Ours and kafka-go print it as
/// `RESULT {json}`; the Java tools' summaries are turned into it. CPU time
/// is added by the parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub records: u64,
    pub bytes: u64,
    /// From the first send to the last delivery report (producers), or from
    /// the first record received to the last (consumers).
    pub seconds: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p999_ms: Option<f64>,
    #[serde(default)]
    pub errors: u64,
}

impl RunResult {
    /// What the lesson's run functions return, for `asked` records.
    pub fn from_measured(measured: &Measured, asked: u64) -> RunResult {
        RunResult {
            records: measured.records,
            bytes: measured.bytes,
            seconds: measured.seconds,
            p50_ms: measured.latency.map(|l| l.p50_ms),
            p99_ms: measured.latency.map(|l| l.p99_ms),
            p999_ms: measured.latency.map(|l| l.p999_ms),
            errors: asked.saturating_sub(measured.records),
        }
    }

    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.seconds.max(1e-9)
    }

    pub fn mib_per_second(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.seconds.max(1e-9)
    }

    /// The line a child process prints for the bench to read.
    pub fn to_line(&self) -> String {
        format!(
            "RESULT {}",
            serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
        )
    }

    /// Reads the last `RESULT {json}` line of a child's output.
    pub fn from_output(output: &str) -> Result<RunResult> {
        let line = output
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("RESULT "))
            .context("no RESULT line in the client's output")?;
        serde_json::from_str(line).with_context(|| format!("cannot parse RESULT {line}"))
    }
}

/// Where the programs of the comparison are.
#[derive(Debug, Clone)]
pub struct Programs {
    /// This crate's binary (its `child` subcommand runs our clients).
    pub ours: PathBuf,
    /// The built Go programs the plan needs (kafka-go, franz-go).
    pub go: Vec<(Client, PathBuf)>,
}

impl Programs {
    /// The command that runs `spec` in a process of its own.
    pub fn command(&self, spec: &RunSpec) -> Result<Command> {
        match spec.client {
            Client::RustBase
            | Client::RustThreaded
            | Client::RustFuture
            | Client::RustFutureWindow
            | Client::RustPermits
            | Client::RustRecommended
            | Client::RustInstances => {
                let mut command = Command::new(&self.ours);
                command.arg("child").arg(spec.to_json()?);
                Ok(command)
            }
            Client::KafkaGo | Client::FranzGo => {
                let peer = go::GoPeer::of(spec.client).context("not a Go peer")?;
                let (_, binary) = self
                    .go
                    .iter()
                    .find(|(client, _)| *client == spec.client)
                    .with_context(|| {
                        format!(
                            "the {} program was not built",
                            spec.client.label(spec.role())
                        )
                    })?;
                peer.command(binary, spec)
            }
            Client::JavaPerf => java::command(spec),
        }
    }

    /// Reads what `spec`'s child printed.
    pub fn result(spec: &RunSpec, output: &str) -> Result<RunResult> {
        match (spec.client, &spec.work) {
            (Client::JavaPerf, Work::Consume { settings, .. }) => {
                java::parse_consumer(output, settings.record_size)
            }
            (Client::JavaPerf, _) => java::parse_producer(output, spec.record_size()),
            _ => RunResult::from_output(output),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_round_trip() {
        let r = RunResult {
            records: 10,
            bytes: 100,
            seconds: 0.5,
            p50_ms: Some(1.0),
            p99_ms: None,
            p999_ms: None,
            errors: 0,
        };
        let parsed = RunResult::from_output(&format!("noise\n{}\n", r.to_line())).unwrap();
        assert_eq!(parsed, r);
        assert_eq!(parsed.records_per_second(), 20.0);
    }

    #[test]
    fn a_run_spec_is_one_flat_json_document() {
        let spec = RunSpec {
            client: Client::KafkaGo,
            bootstrap: "localhost:9092".into(),
            topic: "t".into(),
            records: 10,
            work: Work::Consume {
                group: "g".into(),
                settings: ConsumerSpec::with_record_size(100),
            },
        };
        let json = spec.to_json().unwrap();
        for field in [
            r#""client":"KafkaGo""#,
            r#""role":"consume""#,
            r#""group":"g""#,
            r#""fetch_min_bytes":1"#,
            r#""record_size":100"#,
        ] {
            assert!(json.contains(field), "{field} missing in {json}");
        }
        assert_eq!(RunSpec::from_json(&json).unwrap(), spec);
        assert_eq!(spec.role(), Role::Consume);
    }

    #[test]
    fn labels_and_support() {
        assert_eq!(Client::RustBase.label(Role::Produce), "BaseProducer");
        assert_eq!(Client::RustBase.label(Role::Consume), "BaseConsumer");
        let idempotent = ProducerSpec {
            idempotence: true,
            ..ProducerSpec::default()
        };
        assert!(!Client::KafkaGo.supports(Role::Produce, Some(&idempotent)));
        assert!(Client::JavaPerf.supports(Role::Produce, Some(&idempotent)));
        assert!(Client::FranzGo.supports(Role::Produce, Some(&idempotent)));
        assert!(Client::FranzGo.supports(Role::Consume, None));
        assert!(!Client::RustFuture.supports(Role::Consume, None));
    }
}

//! Running the plan: each client run is a child process on a fresh topic,
//! several rounds, interleaved (round 1 of every client, then round 2 …) so
//! that a noisy moment hits all clients alike.
//!
//! CPU time is the child's user+sys from `getrusage(RUSAGE_CHILDREN)`
//! around its `wait`: only one child runs at a time, so the difference is
//! that child's (and only that child's) CPU.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::{Deserialize, Serialize};
use tutorial_lab::process::run_bounded;
use tutorial_lab::unique_name;
use tutorial_support::Cluster;
use tutorial_support::topics::{delete_topic, ensure_topic};

use crate::clients::go::{FRANZ_GO, KAFKA_GO};
use crate::clients::{
    Client, ConsumerSpec, ProducerSpec, Programs, Role, RunResult, RunSpec, Work,
};
use crate::plan::{Mode, Plan, Sweep};

/// How long one client run may take.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// One measured run of one client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub result: RunResult,
    pub cpu_seconds: f64,
}

/// Every run of one configuration, per client.
#[derive(Debug, Clone)]
pub struct CaseRuns {
    pub sweep: Sweep,
    pub role: Role,
    pub producer: Option<ProducerSpec>,
    pub consumer: Option<ConsumerSpec>,
    pub records: u64,
    pub clients: Vec<(Client, Vec<Sample>)>,
}

/// One row of the synchronous-send trap.
#[derive(Debug, Clone)]
pub struct TrapRun {
    pub client: Client,
    /// The batch timer in ms, or None for the client's default.
    pub linger_ms: Option<u64>,
    pub result: RunResult,
}

/// Everything a bench run measured, before aggregation.
#[derive(Debug, Clone)]
pub struct Measurements {
    pub produce: Vec<CaseRuns>,
    pub consume: Vec<CaseRuns>,
    pub trap: Vec<TrapRun>,
    pub machine: Machine,
    pub elapsed_seconds: f64,
}

/// user + sys CPU seconds of every child this process has waited for.
fn children_cpu() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or(0.0)
}

/// Runs one child to the end; returns its output and the CPU it used.
fn measure(mut command: Command, what: &str) -> Result<(String, f64)> {
    command.env("RUST_LOG", "warn,librdkafka=off");
    let before = children_cpu();
    let captured = run_bounded(command, RUN_LIMIT, what, "")?;
    let cpu = children_cpu() - before;
    let text = captured.text();
    if !captured.success() {
        bail!("{what} failed ({}):\n{}", captured.status, tail(&text, 30));
    }
    Ok((text, cpu))
}

/// Runs `spec` in its own process and reads its result.
fn run_one(programs: &Programs, spec: &RunSpec, what: &str) -> Result<Sample> {
    let (output, cpu_seconds) = measure(programs.command(spec)?, what)?;
    let result = Programs::result(spec, &output)
        .with_context(|| format!("{what}:\n{}", tail(&output, 20)))?;
    Ok(Sample {
        result,
        cpu_seconds,
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all.get(all.len().saturating_sub(lines)..)
        .unwrap_or_default()
        .join("\n")
}

/// How many brokers the cluster has (from a metadata request).
fn broker_count(bootstrap: &str) -> Result<usize> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let metadata = client.fetch_metadata(None, Duration::from_secs(10))?;
    Ok(metadata.brokers().len())
}

/// Sum of the partitions' end offsets: how many records the topic holds.
fn records_in(bootstrap: &str, topic: &str) -> Result<u64> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let metadata = client.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let described = metadata
        .topics()
        .first()
        .with_context(|| format!("no metadata for {topic}"))?;
    let mut total = 0;
    for partition in described.partitions() {
        let (low, high) =
            client.fetch_watermarks(topic, partition.id(), Duration::from_secs(10))?;
        total += (high - low).max(0) as u64;
    }
    Ok(total)
}

struct Progress {
    total: usize,
    done: usize,
    started: Instant,
}

impl Progress {
    fn tick(&mut self, label: &str, sample: &Sample, warmup: bool) {
        self.done += 1;
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = elapsed / self.done as f64 * self.total.saturating_sub(self.done) as f64;
        eprintln!(
            "[{:>3}/{}] {:>5.0}s (~{:.0}s left) {label}{}: {:>10.0} rec/s {:>7.1} MiB/s, cpu {:.2}s",
            self.done,
            self.total,
            elapsed,
            eta,
            if warmup { " (warm-up)" } else { "" },
            sample.result.records_per_second(),
            sample.result.mib_per_second(),
            sample.cpu_seconds,
        );
    }
}

/// Runs the plan against `cluster`.
pub async fn run(cluster: &Cluster, plan: &Plan) -> Result<Measurements> {
    cluster.require_real("the bench (it creates and deletes topics and runs the Java tools)")?;
    let bootstrap = cluster.bootstrap_servers();
    let mut go = Vec::new();
    for peer in [KAFKA_GO, FRANZ_GO] {
        if plan.needs(peer.client) {
            eprintln!(
                "building the {} program ({}) …",
                peer.client.label(Role::Produce),
                peer.program().dir().display()
            );
            let binary = tokio::task::spawn_blocking(move || peer.build()).await??;
            go.push((peer.client, binary));
        }
    }
    let programs = Programs {
        ours: std::env::current_exe()?,
        go,
    };
    let servers = bootstrap.to_string();
    let brokers = tokio::task::spawn_blocking(move || broker_count(&servers)).await??;
    let machine = Machine::describe(!programs.go.is_empty(), brokers);
    eprintln!("{}", machine.describe_line());
    let rounds = plan.runs + usize::from(plan.warmup);
    let mut progress = Progress {
        total: plan.total_runs(),
        done: 0,
        started: Instant::now(),
    };

    let mut produce = Vec::new();
    for case in &plan.produce {
        let mut clients: Vec<(Client, Vec<Sample>)> =
            case.clients.iter().map(|c| (*c, Vec::new())).collect();
        for round in 0..rounds {
            let warmup = plan.warmup && round == 0;
            for (client, samples) in &mut clients {
                let topic = unique_name("bench-lab");
                ensure_topic(cluster, &topic, plan.partitions, 1, &[]).await?;
                let spec = RunSpec {
                    client: *client,
                    bootstrap: bootstrap.to_string(),
                    topic: topic.clone(),
                    records: case.records,
                    work: Work::Produce(case.spec.clone()),
                };
                let label = format!("{} {}", case.spec.label(), client.label(Role::Produce));
                let sample = blocking(&programs, spec, &label).await?;
                // Every record accounted for: the topic must hold exactly
                // what the client says it delivered, and that must be all.
                if case.spec.acknowledged() {
                    let stored = records_in(bootstrap, &topic)?;
                    if stored != case.records || sample.result.records != case.records {
                        bail!(
                            "{label}: asked for {} records, the client reported {}, the topic holds {stored}",
                            case.records,
                            sample.result.records
                        );
                    }
                }
                delete_topic(cluster, &topic).await?;
                progress.tick(&label, &sample, warmup);
                if !warmup {
                    samples.push(sample);
                }
            }
        }
        produce.push(CaseRuns {
            sweep: case.sweep,
            role: Role::Produce,
            producer: Some(case.spec.clone()),
            consumer: None,
            records: case.records,
            clients,
        });
    }

    let mut consume = Vec::new();
    for case in &plan.consume {
        let topic = unique_name("bench-lab-read");
        ensure_topic(cluster, &topic, plan.partitions, 1, &[]).await?;
        let fill = RunSpec {
            client: Client::RustBase,
            bootstrap: bootstrap.to_string(),
            topic: topic.clone(),
            records: case.records,
            work: Work::Produce(ProducerSpec {
                record_size: case.spec.record_size,
                ..ProducerSpec::default()
            }),
        };
        blocking(&programs, fill, "filling the consumer topic").await?;
        let mut clients: Vec<(Client, Vec<Sample>)> =
            case.clients.iter().map(|c| (*c, Vec::new())).collect();
        for round in 0..rounds {
            let warmup = plan.warmup && round == 0;
            for (client, samples) in &mut clients {
                let spec = RunSpec {
                    client: *client,
                    bootstrap: bootstrap.to_string(),
                    topic: topic.clone(),
                    records: case.records,
                    work: Work::Consume {
                        group: unique_name("bench-lab-group"),
                        settings: case.spec.clone(),
                    },
                };
                let label = format!(
                    "read {} B {} {}",
                    case.spec.record_size,
                    case.spec.label(),
                    client.label(Role::Consume)
                );
                let sample = blocking(&programs, spec, &label).await?;
                if sample.result.records != case.records {
                    bail!(
                        "{label}: read {} of {} records",
                        sample.result.records,
                        case.records
                    );
                }
                progress.tick(&label, &sample, warmup);
                if !warmup {
                    samples.push(sample);
                }
            }
        }
        delete_topic(cluster, &topic).await?;
        consume.push(CaseRuns {
            sweep: case.sweep,
            role: Role::Consume,
            producer: None,
            consumer: Some(case.spec.clone()),
            records: case.records,
            clients,
        });
    }

    let trap = if plan.trap {
        sync_trap(cluster, &programs, plan.mode).await?
    } else {
        Vec::new()
    };
    Ok(Measurements {
        produce,
        consume,
        trap,
        machine,
        elapsed_seconds: progress.started.elapsed().as_secs_f64(),
    })
}

/// [`run_one`] off the async runtime.
async fn blocking(programs: &Programs, spec: RunSpec, what: &str) -> Result<Sample> {
    let (programs, what) = (programs.clone(), what.to_string());
    tokio::task::spawn_blocking(move || run_one(&programs, &spec, &what)).await?
}

/// kafka-go's synchronous WriteMessages with its default 1 s BatchTimeout
/// and with 5 ms, and the same trap in librdkafka with a 1 s and the
/// default 5 ms linger.
async fn sync_trap(cluster: &Cluster, programs: &Programs, mode: Mode) -> Result<Vec<TrapRun>> {
    let slow = if mode == Mode::Tiny { 2 } else { 5 };
    let fast = if mode == Mode::Tiny { 5 } else { 50 };
    let topic = unique_name("bench-lab-trap");
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    let mut rows = Vec::new();
    for (client, records, linger_ms) in [
        (Client::KafkaGo, slow, None),
        (Client::KafkaGo, fast, Some(5)),
        (Client::RustFuture, slow, Some(1000)),
        (Client::RustFuture, fast, None),
    ] {
        let spec = RunSpec {
            client,
            bootstrap: cluster.bootstrap_servers().to_string(),
            topic: topic.clone(),
            records,
            work: Work::SyncSends { linger_ms },
        };
        let what = format!("{} sync-trap", client.label(Role::Produce));
        let result = blocking(programs, spec, &what).await?.result;
        eprintln!(
            "trap: {what}, batch timer {}: {:.1} ms per call",
            linger_ms.map_or("default".to_string(), |ms| format!("{ms} ms")),
            result.p50_ms.unwrap_or(0.0)
        );
        rows.push(TrapRun {
            client,
            linger_ms,
            result,
        });
    }
    delete_topic(cluster, &topic).await?;
    Ok(rows)
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
    #[serde(default)]
    pub franz_go: String,
    /// Brokers in the cluster (all on this machine, sharing its cores).
    #[serde(default = "one")]
    pub brokers: usize,
}

fn one() -> usize {
    1
}

impl Machine {
    pub fn describe(with_go: bool, brokers: usize) -> Machine {
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
        let java = Command::new("java")
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
            Command::new("go")
                .arg("version")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|| "not found".into())
        } else {
            "not used".into()
        };
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_gib,
            librdkafka,
            kafka: kafka_layout::KAFKA_VERSION.to_string(),
            java,
            go,
            kafka_go: KAFKA_GO.library_version(),
            franz_go: FRANZ_GO.library_version(),
            brokers,
        }
    }

    pub fn describe_line(&self) -> String {
        let cluster = if self.brokers > 1 {
            format!(
                "{} brokers on this machine: {} JVMs and the client share the {} cores",
                self.brokers, self.brokers, self.cores
            )
        } else {
            "single node, same machine".to_string()
        };
        format!(
            "machine: {} × {} cores, {:.0} GiB; broker Apache Kafka {} ({cluster}); \
             librdkafka {}; {}; {}; kafka-go {}; franz-go {}",
            self.cpu,
            self.cores,
            self.memory_gib,
            self.kafka,
            self.librdkafka,
            self.java,
            self.go,
            self.kafka_go,
            self.franz_go,
        )
    }
}

//! The bench: a matrix of settings, each run by every client as a child
//! process on a fresh topic, several times, interleaved (run 1 of every
//! client, then run 2 …) so that a noisy moment hits all clients alike.
//!
//! CPU time is the child's user+sys from `getrusage(RUSAGE_CHILDREN)`
//! around its `wait`: only one child runs at a time, so the difference is
//! that child's (and only that child's) CPU.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::{Deserialize, Serialize};
use tutorial_support::Cluster;
use tutorial_support::topics::unique_name;
use tutorial_support::topics::{delete_topic, ensure_topic};

use crate::report::{BenchReport, CaseResult, ClientSummary, Machine, TrapRow};
use crate::{ConsumerSettings, ProducerKind, ProducerSettings, RunResult, peers, sync_sends};

/// How big a bench to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A few thousand records per run, one run: proves the plumbing (tests)
    Tiny,
    /// The headline comparison: 100 B and 1 KB, acks=all, every client
    Quick,
    /// Everything: record sizes, linger, batch.size, compression, acks,
    /// idempotence, producer types, consumer fetch settings; charts
    Full,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// tiny | quick | full
    #[arg(long, value_enum, default_value_t = Mode::Quick)]
    pub mode: Mode,
    /// Measured runs per client and configuration (after one warm-up run)
    #[arg(long)]
    pub runs: Option<usize>,
    /// Skip the warm-up run
    #[arg(long)]
    pub no_warmup: bool,
    /// Partitions of every bench topic (the same for every client)
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Multiply the record counts (e.g. 0.5 for a faster, noisier run)
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Leave out the Java perf tools
    #[arg(long)]
    pub no_java: bool,
    /// Leave out kafka-go
    #[arg(long)]
    pub no_go: bool,
    /// Where the JSON results and the markdown tables go
    #[arg(long, default_value = "target/ch04-tuning")]
    pub out_dir: PathBuf,
    /// Write the SVG charts here (the full run writes them for the book)
    #[arg(long)]
    pub charts_dir: Option<PathBuf>,
}

/// One producing client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProducerClient {
    Ours(ProducerKind),
    Java,
    KafkaGo,
}

impl ProducerClient {
    pub fn name(self) -> &'static str {
        match self {
            ProducerClient::Ours(kind) => kind.name(),
            ProducerClient::Java => "Java",
            ProducerClient::KafkaGo => "kafka-go",
        }
    }
}

/// One consuming client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsumerClient {
    Ours,
    Java,
    KafkaGo,
}

impl ConsumerClient {
    pub fn name(self) -> &'static str {
        match self {
            ConsumerClient::Ours => "BaseConsumer",
            ConsumerClient::Java => "Java",
            ConsumerClient::KafkaGo => "kafka-go",
        }
    }
}

/// A producer configuration of the matrix.
#[derive(Debug, Clone)]
pub struct ProduceCase {
    /// Which sweep it belongs to (`size`, `linger`, `batch`, `compression`, `acks`).
    pub sweep: &'static str,
    pub settings: ProducerSettings,
    pub records: u64,
    pub clients: Vec<ProducerClient>,
}

/// A consumer configuration of the matrix.
#[derive(Debug, Clone)]
pub struct ConsumeCase {
    pub sweep: &'static str,
    pub record_size: usize,
    pub settings: ConsumerSettings,
    pub records: u64,
    pub clients: Vec<ConsumerClient>,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub produce: Vec<ProduceCase>,
    pub consume: Vec<ConsumeCase>,
    pub trap: bool,
    pub runs: usize,
    pub warmup: bool,
}

/// Records per run for a record size: about 1 GB at 1 KB and 10 KB, 300 MB
/// at 100 B (runs of a few seconds: shorter ones measure start-up, not
/// throughput); half of that for the sweeps of the full run; a few thousand
/// for the tiny plan.
fn records_for(mode: Mode, sweep: &str, size: usize, scale: f64) -> u64 {
    let base = match mode {
        Mode::Tiny => 2_000.0,
        Mode::Quick | Mode::Full => match size {
            0..=200 => 3_000_000.0,
            201..=2_000 => 1_000_000.0,
            _ => 100_000.0,
        },
    };
    if sweep == "latency" {
        // 3 s at 20 000 records/s.
        return ((60_000.0 * scale) as u64).max(100);
    }
    let sweep_factor = if sweep == "size" { 1.0 } else { 0.5 };
    ((base * scale * sweep_factor) as u64).max(100)
}

/// The matrix for `mode` (peers included unless disabled).
pub fn plan(args: &BenchArgs) -> Plan {
    let mode = args.mode;
    let java = !args.no_java;
    let go = !args.no_go;
    let with_peers = |mut clients: Vec<ProducerClient>, settings: &ProducerSettings| {
        if java {
            clients.push(ProducerClient::Java);
        }
        if go && peers::go_supports(settings) {
            clients.push(ProducerClient::KafkaGo);
        }
        clients
    };
    let all_kinds = vec![
        ProducerClient::Ours(ProducerKind::Base),
        ProducerClient::Ours(ProducerKind::Threaded),
        ProducerClient::Ours(ProducerKind::Future),
    ];
    let base_only = vec![ProducerClient::Ours(ProducerKind::Base)];
    let consumers = || {
        let mut clients = vec![ConsumerClient::Ours];
        if java {
            clients.push(ConsumerClient::Java);
        }
        if go {
            clients.push(ConsumerClient::KafkaGo);
        }
        clients
    };
    // Peers run in the headline (size) cases and the linger and compression
    // sweeps; the batch, acks and fetch sweeps are about our client alone.
    let case = |sweep: &'static str, settings: ProducerSettings, clients: Vec<ProducerClient>| {
        let clients = if matches!(sweep, "size" | "linger" | "latency" | "compression") {
            with_peers(clients, &settings)
        } else {
            clients
        };
        ProduceCase {
            sweep,
            records: records_for(mode, sweep, settings.record_size, args.scale),
            clients,
            settings,
        }
    };
    let consume_case = |sweep, record_size, settings| ConsumeCase {
        sweep,
        record_size,
        settings,
        records: records_for(mode, sweep, record_size, args.scale),
        clients: consumers(),
    };
    let sizes: &[usize] = match mode {
        Mode::Tiny => &[100],
        Mode::Quick => &[100, 1000],
        Mode::Full => &[100, 1000, 10_000],
    };
    let mut produce: Vec<ProduceCase> = sizes
        .iter()
        .map(|&record_size| {
            case(
                "size",
                ProducerSettings {
                    record_size,
                    ..ProducerSettings::default()
                },
                all_kinds.clone(),
            )
        })
        .collect();
    let mut consume: Vec<ConsumeCase> = sizes
        .iter()
        .map(|&size| consume_case("size", size, ConsumerSettings::default()))
        .collect();
    // librdkafka pauses a partition's prefetch for fetch.queue.backoff.ms
    // (1 s) once queued.min.messages (100 000) records wait; with 100 B
    // records a fast reader empties that in well under a second and waits.
    // The same records again with a 10 ms pause (the peers have no such
    // setting and run unchanged).
    if mode != Mode::Tiny {
        consume.insert(
            1,
            consume_case(
                "backoff",
                100,
                ConsumerSettings {
                    fetch_queue_backoff_ms: 10,
                    ..ConsumerSettings::default()
                },
            ),
        );
    }
    if mode == Mode::Full {
        let kb = ProducerSettings::default();
        for linger_ms in [0, 1, 20, 100] {
            produce.push(case(
                "linger",
                ProducerSettings {
                    linger_ms,
                    ..kb.clone()
                },
                base_only.clone(),
            ));
        }
        // The same linger values at a fixed offered load of 20 000 records/s,
        // where batches do not fill up and linger.ms shows in the latency.
        for linger_ms in [0, 1, 5, 20, 100] {
            produce.push(case(
                "latency",
                ProducerSettings {
                    linger_ms,
                    rate: 20_000,
                    ..kb.clone()
                },
                base_only.clone(),
            ));
        }
        for batch_size in [16_384, 65_536, 262_144] {
            produce.push(case(
                "batch",
                ProducerSettings {
                    batch_size,
                    linger_ms: 100,
                    ..kb.clone()
                },
                base_only.clone(),
            ));
        }
        produce.push(case(
            "batch",
            ProducerSettings {
                linger_ms: 100,
                ..kb.clone()
            },
            base_only.clone(),
        ));
        for compression in [
            crate::Compression::Lz4,
            crate::Compression::Zstd,
            crate::Compression::Snappy,
            crate::Compression::Gzip,
        ] {
            produce.push(case(
                "compression",
                ProducerSettings {
                    compression,
                    ..kb.clone()
                },
                base_only.clone(),
            ));
        }
        for acks in [crate::Acks::One, crate::Acks::Zero] {
            produce.push(case(
                "acks",
                ProducerSettings { acks, ..kb.clone() },
                base_only.clone(),
            ));
        }
        produce.push(case(
            "acks",
            ProducerSettings {
                idempotence: true,
                ..kb.clone()
            },
            base_only.clone(),
        ));
        for settings in [
            ConsumerSettings {
                fetch_min_bytes: 65_536,
                ..ConsumerSettings::default()
            },
            ConsumerSettings {
                fetch_min_bytes: 1_048_576,
                fetch_wait_max_ms: 100,
                ..ConsumerSettings::default()
            },
            ConsumerSettings {
                queued_max_messages_kbytes: 1024,
                ..ConsumerSettings::default()
            },
            ConsumerSettings {
                fetch_queue_backoff_ms: 10,
                ..ConsumerSettings::default()
            },
        ] {
            consume.push(ConsumeCase {
                clients: vec![ConsumerClient::Ours],
                ..consume_case("fetch", 1000, settings)
            });
        }
    }
    let runs = args.runs.unwrap_or(match mode {
        Mode::Tiny => 1,
        Mode::Quick | Mode::Full => 3,
    });
    Plan {
        produce,
        consume,
        trap: go,
        runs,
        warmup: !args.no_warmup && mode != Mode::Tiny,
    }
}

/// What a finished child left behind.
pub struct ChildOutput {
    pub status: ExitStatus,
    /// stdout followed by stderr
    pub text: String,
    pub wall: Duration,
}

/// Waits for `child` (its stdout/stderr piped), killing it after `limit`.
pub fn wait_child(mut child: Child, limit: Duration, what: &str) -> Result<ChildOutput> {
    let started = Instant::now();
    let mut readers = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        readers.push(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        }));
    }
    if let Some(mut err) = child.stderr.take() {
        readers.push(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        }));
    }
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} did not finish within {limit:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = started.elapsed();
    let text = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    Ok(ChildOutput { status, text, wall })
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

/// Runs one client process; returns its output and the CPU it used.
fn measure(mut command: Command, what: &str) -> Result<(ChildOutput, f64)> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_LOG", "warn,librdkafka=off");
    let before = children_cpu();
    let child = command
        .spawn()
        .with_context(|| format!("starting {what}: {command:?}"))?;
    let output = wait_child(child, Duration::from_secs(300), what)?;
    let cpu = children_cpu() - before;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}",
            output.status,
            tail(&output.text, 30)
        );
    }
    Ok((output, cpu))
}

/// This binary's `produce` subcommand: one producer run in a child process.
fn our_producer(
    exe: &Path,
    bootstrap: &str,
    topic: &str,
    records: u64,
    settings: &ProducerSettings,
) -> Command {
    let mut command = Command::new(exe);
    command
        .arg("produce")
        .args(["--brokers", bootstrap, "--topic", topic])
        .args(["--records", &records.to_string()])
        .args(settings_args(settings));
    command
}

/// The `RESULT {json}` line our client and the Go program print; the end of
/// the output if there is none.
fn result_line(text: &str, label: &str) -> Result<RunResult> {
    RunResult::from_output(text).with_context(|| format!("{label}:\n{}", tail(text, 20)))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Sum of the partitions' end offsets: how many records the topic holds.
fn records_in(bootstrap: &str, topic: &str) -> Result<u64> {
    let client: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let metadata = client.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut total = 0;
    for partition in metadata.topics()[0].partitions() {
        let (low, high) =
            client.fetch_watermarks(topic, partition.id(), Duration::from_secs(10))?;
        total += (high - low).max(0) as u64;
    }
    Ok(total)
}

/// One measured run of one client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub result: RunResult,
    pub cpu_seconds: f64,
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
        let eta = elapsed / self.done as f64 * (self.total - self.done) as f64;
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

/// Runs the plan against `cluster` and returns the report.
pub async fn run(cluster: &Cluster, args: &BenchArgs, plan: &Plan) -> Result<BenchReport> {
    cluster.require_real("the bench (it creates and deletes topics and runs the Java tools)")?;
    let bootstrap = cluster.bootstrap_servers();
    let exe = std::env::current_exe()?;
    let needs_go = plan
        .produce
        .iter()
        .any(|c| c.clients.contains(&ProducerClient::KafkaGo))
        || plan
            .consume
            .iter()
            .any(|c| c.clients.contains(&ConsumerClient::KafkaGo))
        || plan.trap;
    let go = if needs_go {
        eprintln!(
            "building the kafka-go program ({}) …",
            peers::go_dir().display()
        );
        Some(peers::build_go()?)
    } else {
        None
    };
    let rounds = plan.runs + usize::from(plan.warmup);
    let total = rounds
        * (plan.produce.iter().map(|c| c.clients.len()).sum::<usize>()
            + plan.consume.iter().map(|c| c.clients.len()).sum::<usize>());
    let mut progress = Progress {
        total,
        done: 0,
        started: Instant::now(),
    };
    let machine = Machine::describe(go.is_some());
    eprintln!("{}", machine.describe_line());

    let mut produce_results = Vec::new();
    for case in &plan.produce {
        let mut samples: Vec<(ProducerClient, Vec<Sample>)> =
            case.clients.iter().map(|c| (*c, Vec::new())).collect();
        for round in 0..rounds {
            let warmup = plan.warmup && round == 0;
            for (client, list) in &mut samples {
                let topic = unique_name("ch04-bench");
                ensure_topic(cluster, &topic, args.partitions, 1, &[]).await?;
                let command = match client {
                    ProducerClient::Ours(kind) => {
                        let mut command =
                            our_producer(&exe, bootstrap, &topic, case.records, &case.settings);
                        command.args(["--kind", kind_arg(*kind)]);
                        command
                    }
                    ProducerClient::Java => peers::java_producer_command(
                        bootstrap,
                        &topic,
                        case.records,
                        &case.settings,
                    )?,
                    ProducerClient::KafkaGo => peers::go_producer_command(
                        go.as_ref().context("kafka-go binary")?,
                        bootstrap,
                        &topic,
                        case.records,
                        &case.settings,
                    ),
                };
                let label = format!("{} {}", case_label(&case.settings), client.name());
                let (output, cpu) = measure(command, &label)?;
                let result = match client {
                    ProducerClient::Java => {
                        peers::parse_java_producer(&output.text, case.settings.record_size)?
                    }
                    _ => result_line(&output.text, &label)?,
                };
                // Every record accounted for: the topic must hold exactly
                // what the client says it delivered, and that must be all.
                if peers::acknowledged(&case.settings) {
                    let stored = records_in(bootstrap, &topic)?;
                    if stored != case.records || result.records != case.records {
                        bail!(
                            "{label}: asked for {} records, the client reported {}, the topic holds {stored}",
                            case.records,
                            result.records
                        );
                    }
                }
                delete_topic(cluster, &topic).await?;
                let sample = Sample {
                    result,
                    cpu_seconds: cpu,
                };
                progress.tick(&label, &sample, warmup);
                if !warmup {
                    list.push(sample);
                }
            }
        }
        produce_results.push(CaseResult {
            sweep: case.sweep.to_string(),
            label: case_label(&case.settings),
            producer: Some(case.settings.clone()),
            consumer: None,
            record_size: case.settings.record_size,
            records: case.records,
            clients: samples
                .into_iter()
                .map(|(c, s)| ClientSummary::from_samples(c.name(), s))
                .collect(),
        });
    }

    let mut consume_results = Vec::new();
    for case in &plan.consume {
        let topic = unique_name("ch04-bench-read");
        ensure_topic(cluster, &topic, args.partitions, 1, &[]).await?;
        let fill = ProducerSettings {
            record_size: case.record_size,
            ..ProducerSettings::default()
        };
        let command = our_producer(&exe, bootstrap, &topic, case.records, &fill);
        measure(command, "filling the consumer topic")?;
        let mut samples: Vec<(ConsumerClient, Vec<Sample>)> =
            case.clients.iter().map(|c| (*c, Vec::new())).collect();
        for round in 0..rounds {
            let warmup = plan.warmup && round == 0;
            for (client, list) in &mut samples {
                let group = unique_name("ch04-bench-group");
                let command = match client {
                    ConsumerClient::Ours => {
                        let mut command = Command::new(&exe);
                        command
                            .arg("consume")
                            .args(["--brokers", bootstrap, "--topic", &topic, "--group", &group])
                            .args(["--records", &case.records.to_string()])
                            .args(consumer_args(&case.settings));
                        command
                    }
                    ConsumerClient::Java => peers::java_consumer_command(
                        bootstrap,
                        &topic,
                        &group,
                        case.records,
                        &case.settings,
                    )?,
                    ConsumerClient::KafkaGo => peers::go_consumer_command(
                        go.as_ref().context("kafka-go binary")?,
                        bootstrap,
                        &topic,
                        &group,
                        case.records,
                        &case.settings,
                    ),
                };
                let label = format!(
                    "read {} B {} {}",
                    case.record_size,
                    consumer_label(&case.settings),
                    client.name()
                );
                let (output, cpu) = measure(command, &label)?;
                let result = match client {
                    ConsumerClient::Java => {
                        peers::parse_java_consumer(&output.text, case.record_size)?
                    }
                    _ => result_line(&output.text, &label)?,
                };
                if result.records != case.records {
                    bail!(
                        "{label}: read {} of {} records",
                        result.records,
                        case.records
                    );
                }
                let sample = Sample {
                    result,
                    cpu_seconds: cpu,
                };
                progress.tick(&label, &sample, warmup);
                if !warmup {
                    list.push(sample);
                }
            }
        }
        delete_topic(cluster, &topic).await?;
        consume_results.push(CaseResult {
            sweep: case.sweep.to_string(),
            label: format!("{} B {}", case.record_size, consumer_label(&case.settings)),
            producer: None,
            consumer: Some(case.settings.clone()),
            record_size: case.record_size,
            records: case.records,
            clients: samples
                .into_iter()
                .map(|(c, s)| ClientSummary::from_samples(c.name(), s))
                .collect(),
        });
    }

    let trap = if plan.trap {
        let go = go.as_ref().context("kafka-go binary")?;
        sync_trap(cluster, go, args.mode).await?
    } else {
        Vec::new()
    };
    Ok(BenchReport {
        mode: args.mode,
        partitions: args.partitions,
        runs: plan.runs,
        warmup: plan.warmup,
        machine,
        produce: produce_results,
        consume: consume_results,
        trap,
        elapsed_seconds: progress.started.elapsed().as_secs_f64(),
    })
}

/// kafka-go's slow synchronous WriteMessages, and the same trap in
/// librdkafka with a 1 s linger.
async fn sync_trap(cluster: &Cluster, go: &PathBuf, mode: Mode) -> Result<Vec<TrapRow>> {
    let bootstrap = cluster.bootstrap_servers();
    let slow = if mode == Mode::Tiny { 2 } else { 5 };
    let fast = if mode == Mode::Tiny { 5 } else { 50 };
    let topic = unique_name("ch04-bench-trap");
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    let mut rows = Vec::new();
    for (records, batch_timeout, setting) in [
        (slow, None, "BatchTimeout = 1s (default)"),
        (fast, Some(Duration::from_millis(5)), "BatchTimeout = 5ms"),
    ] {
        let command = peers::go_sync_trap_command(go, bootstrap, &topic, records, batch_timeout);
        let (output, _) = measure(command, "kafka-go sync-trap")?;
        let result = result_line(&output.text, "kafka-go sync-trap")?;
        eprintln!(
            "trap: kafka-go {setting}: {:.1} ms per WriteMessages",
            result.p50_ms.unwrap_or(0.0)
        );
        rows.push(TrapRow::new("kafka-go WriteMessages", setting, &result));
    }
    for (records, linger_ms, setting) in [
        (slow, 1000, "linger.ms = 1000"),
        (fast, 5, "linger.ms = 5 (default)"),
    ] {
        let result = sync_sends(bootstrap, &topic, records, linger_ms).await?;
        eprintln!(
            "trap: rdkafka {setting}: {:.1} ms per send().await",
            result.p50_ms.unwrap_or(0.0)
        );
        rows.push(TrapRow::new(
            "FutureProducer send().await",
            setting,
            &result,
        ));
    }
    delete_topic(cluster, &topic).await?;
    Ok(rows)
}

fn kind_arg(kind: ProducerKind) -> &'static str {
    match kind {
        ProducerKind::Base => "base",
        ProducerKind::Threaded => "threaded",
        ProducerKind::Future => "future",
    }
}

/// The command-line flags for `settings` (the `produce` subcommand's).
pub fn settings_args(settings: &ProducerSettings) -> Vec<String> {
    let mut args = vec![
        "--record-size".into(),
        settings.record_size.to_string(),
        "--linger-ms".into(),
        settings.linger_ms.to_string(),
        "--batch-size".into(),
        settings.batch_size.to_string(),
        "--batch-num-messages".into(),
        settings.batch_num_messages.to_string(),
        "--compression".into(),
        settings.compression.name().into(),
        "--acks".into(),
        settings.acks.name().into(),
    ];
    if settings.idempotence {
        args.push("--idempotence".into());
    }
    if settings.rate > 0 {
        args.push("--rate".into());
        args.push(settings.rate.to_string());
    }
    for extra in &settings.extra {
        args.push("--set".into());
        args.push(extra.clone());
    }
    args
}

fn consumer_args(settings: &ConsumerSettings) -> Vec<String> {
    let mut args: Vec<String> = settings
        .extra
        .iter()
        .flat_map(|e| ["--set".to_string(), e.clone()])
        .collect();
    args.extend([
        "--fetch-min-bytes".into(),
        settings.fetch_min_bytes.to_string(),
        "--fetch-wait-max-ms".into(),
        settings.fetch_wait_max_ms.to_string(),
        "--queued-max-messages-kbytes".into(),
        settings.queued_max_messages_kbytes.to_string(),
        "--queued-min-messages".into(),
        settings.queued_min_messages.to_string(),
        "--fetch-queue-backoff-ms".into(),
        settings.fetch_queue_backoff_ms.to_string(),
    ]);
    args
}

/// A short name for a producer configuration, e.g. `1000 B linger=5 batch=1000000 none acks=all`.
pub fn case_label(s: &ProducerSettings) -> String {
    format!(
        "{} B linger={} batch={} {} acks={}{}{}{}",
        s.record_size,
        s.linger_ms,
        s.batch_size,
        s.compression.name(),
        s.acks.name(),
        if s.idempotence { " idempotent" } else { "" },
        if s.rate > 0 {
            format!(" rate={}/s", s.rate)
        } else {
            String::new()
        },
        s.extra.iter().map(|e| format!(" {e}")).collect::<String>()
    )
}

fn consumer_label(s: &ConsumerSettings) -> String {
    let default = ConsumerSettings::default();
    let mut parts = Vec::new();
    if s.fetch_min_bytes != default.fetch_min_bytes {
        parts.push(format!("fetch.min.bytes={}", s.fetch_min_bytes));
    }
    if s.fetch_wait_max_ms != default.fetch_wait_max_ms {
        parts.push(format!("fetch.wait.max.ms={}", s.fetch_wait_max_ms));
    }
    if s.queued_max_messages_kbytes != default.queued_max_messages_kbytes {
        parts.push(format!(
            "queued.max.messages.kbytes={}",
            s.queued_max_messages_kbytes
        ));
    }
    if s.queued_min_messages != default.queued_min_messages {
        parts.push(format!("queued.min.messages={}", s.queued_min_messages));
    }
    if s.fetch_queue_backoff_ms != default.fetch_queue_backoff_ms {
        parts.push(format!(
            "fetch.queue.backoff.ms={}",
            s.fetch_queue_backoff_ms
        ));
    }
    parts.extend(s.extra.iter().cloned());
    if parts.is_empty() {
        "defaults".into()
    } else {
        parts.join(" ")
    }
}

/// Writes the report as JSON and markdown into `dir`.
pub fn save(report: &BenchReport, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = match report.mode {
        Mode::Tiny => "tiny",
        Mode::Quick => "quick",
        Mode::Full => "full",
    };
    let json = dir.join(format!("bench-{name}.json"));
    std::fs::write(&json, serde_json::to_string_pretty(report)?)?;
    let markdown = dir.join(format!("bench-{name}.md"));
    std::fs::write(&markdown, crate::report::render(report))?;
    Ok((json, markdown))
}

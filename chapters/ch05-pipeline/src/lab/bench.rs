//! The benchmark: the whole pipeline (ingest → transform ×N → sink, each a
//! process) at-least-once and exactly-once, flat out and at half the rate
//! the same mode reached flat out, on whatever cluster `KAFKA_BROKERS`
//! names — one run, so the ratios compare like with like.
//!
//! - **Throughput** (events/s): events counted in the database divided by
//!   the time from ingest's start to the moment the database held all of
//!   them (the last windows close by the clock, 1 s after the input stops:
//!   that tail is in the figure).
//! - **Latency**: per (window, input partition), from the window's end in
//!   event time to the commit of the database transaction holding its rows
//!   (the sink's `window_latency` table). Only windows closed by the
//!   watermark count — the last window of each partition waits for the
//!   idle close and says nothing about the pipeline under load.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::consumer::{BaseConsumer, Consumer};
use tutorial_lab::testing::ChildProcess;
use tutorial_support::topics::{delete_topic, unique_name};
use tutorial_support::{Cluster, parse_summary, summary};

use super::audit::read_only;
use super::positions::Monitor;
use super::stages::{Guarantee, Topics};
use crate::lesson::ingest::now_ms;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Events of each flat-out run
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Seconds of each half-rate run
    #[arg(long, default_value_t = 15)]
    pub half_rate_seconds: u64,
    /// Transform instances
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub transforms: u8,
}

/// One measured run.
#[derive(Debug, Clone)]
pub struct Run {
    pub mode: Guarantee,
    /// Events per second asked of ingest (0: flat out).
    pub rate: u64,
    pub events: i64,
    pub seconds: f64,
    pub p50_ms: i64,
    pub p99_ms: i64,
    pub windows: usize,
    /// Mean time the transform took to end a batch (flush + commit), and
    /// how many batches it ended.
    pub transform_commit_ms: f64,
    pub transform_batches: u64,
    /// Mean time the sink took to end a batch (database transaction, plus
    /// at-least-once's offset commit), and how many.
    pub sink_commit_ms: f64,
    pub sink_batches: u64,
}

impl Run {
    pub fn throughput(&self) -> f64 {
        self.events as f64 / self.seconds.max(0.001)
    }
}

fn mode_flag(mode: Guarantee) -> &'static str {
    match mode {
        Guarantee::ExactlyOnce => "exactly-once",
        Guarantee::AtLeastOnce => "at-least-once",
    }
}

/// The machine's load average (1, 5, 15 min), as `uptime` prints it.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Runs the four measurements and prints the table.
pub async fn run(cluster: &Cluster, exe: &Path, args: &BenchArgs) -> Result<Vec<Run>> {
    cluster.require_real("the pipeline benchmark (transactions, replicated topics)")?;
    let brokers = cluster.brokers().len();
    let build = if cfg!(debug_assertions) {
        "debug build"
    } else {
        "release build"
    };
    println!(
        "bench: {brokers} broker(s), 6 partitions, {} transform instance(s), {build}; load average at start: {}",
        args.transforms,
        load_average()
    );
    let mut runs = Vec::new();
    for mode in [Guarantee::AtLeastOnce, Guarantee::ExactlyOnce] {
        let flat = one(cluster, exe, args, mode, 0, args.events).await?;
        print_run(&flat);
        let half = (flat.throughput() / 2.0).round().max(1.0) as u64;
        let paced = one(
            cluster,
            exe,
            args,
            mode,
            half,
            half * args.half_rate_seconds,
        )
        .await?;
        print_run(&paced);
        runs.push(flat);
        runs.push(paced);
    }
    let ratio = runs[2].throughput() / runs[0].throughput().max(0.001);
    println!(
        "bench: exactly-once/at-least-once throughput flat out = {ratio:.2} (goal ≥ 0.5); p99 at half rate: at-least-once {} ms, exactly-once {} ms (goal < 1000 ms); load average at end: {}",
        runs[1].p99_ms,
        runs[3].p99_ms,
        load_average()
    );
    summary(
        "bench",
        &[
            ("brokers", brokers.to_string()),
            ("alo_events_per_s", format!("{:.0}", runs[0].throughput())),
            ("eos_events_per_s", format!("{:.0}", runs[2].throughput())),
            ("eos_over_alo", format!("{ratio:.2}")),
            ("alo_half_p99_ms", runs[1].p99_ms.to_string()),
            ("eos_half_p99_ms", runs[3].p99_ms.to_string()),
        ],
    );
    Ok(runs)
}

fn print_run(run: &Run) {
    let rate = if run.rate == 0 {
        "flat out".to_string()
    } else {
        format!("{}/s", run.rate)
    };
    println!(
        "bench: {:<13}  {:<10}  {:>7} events  {:>6.1} s  {:>7.0} events/s  latency p50 {:>5} ms  p99 {:>5} ms  ({} windows)  transform batch end {:.0} ms ×{}  sink batch end {:.0} ms ×{}",
        mode_flag(run.mode),
        rate,
        run.events,
        run.seconds,
        run.throughput(),
        run.p50_ms,
        run.p99_ms,
        run.windows,
        run.transform_commit_ms,
        run.transform_batches,
        run.sink_commit_ms,
        run.sink_batches
    );
}

fn spawn(exe: &Path, brokers: &str, args: &[String]) -> Result<ChildProcess> {
    let mut command = Command::new(exe);
    command
        .args(args)
        .env("KAFKA_BROKERS", brokers)
        .env("RUST_LOG", "warn");
    Ok(ChildProcess::try_spawn(command)?)
}

async fn one(
    cluster: &Cluster,
    exe: &Path,
    args: &BenchArgs,
    mode: Guarantee,
    rate: u64,
    events: u64,
) -> Result<Run> {
    let topics = Topics {
        prefix: unique_name("ch05-bench"),
        partitions: 6,
    };
    topics.ensure(cluster).await?;
    let dir = std::env::temp_dir().join(&topics.prefix);
    std::fs::create_dir_all(&dir)?;
    let (bootstrap, exe2, topics2, dir2, transforms) = (
        cluster.bootstrap_servers().to_string(),
        exe.to_path_buf(),
        topics.clone(),
        dir.clone(),
        args.transforms,
    );
    let run = tokio::task::spawn_blocking(move || {
        measure(
            &bootstrap, &exe2, &topics2, &dir2, transforms, mode, rate, events,
        )
    })
    .await??;
    for topic in [topics.events(), topics.results(), topics.dlq()] {
        delete_topic(cluster, &topic).await.ok();
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(run)
}

#[allow(clippy::too_many_arguments)]
fn measure(
    bootstrap: &str,
    exe: &Path,
    topics: &Topics,
    dir: &Path,
    transforms: u8,
    mode: Guarantee,
    rate: u64,
    events: u64,
) -> Result<Run> {
    let common = |stage: &str| -> Vec<String> {
        let mut v: Vec<String> = [stage, "--prefix", &topics.prefix, "--metrics-port", "0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if stage != "ingest" {
            v.extend(["--mode".to_string(), mode_flag(mode).to_string()]);
        }
        v
    };
    let db = dir.join("pipeline.db");
    let mut stages = Vec::new();
    let mut sink = common("sink");
    sink.extend(["--db".to_string(), db.display().to_string()]);
    stages.push(spawn(exe, bootstrap, &sink)?);
    for i in 0..transforms {
        let mut t = common("transform");
        t.extend(["--instance".to_string(), format!("transform-{i}")]);
        stages.push(spawn(exe, bootstrap, &t)?);
    }
    for stage in &mut stages {
        stage
            .try_wait_for_line(": ready", Duration::from_secs(60))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    // Start the clock only once every transform holds its partitions: the
    // group's join is not part of the pipeline's latency.
    wait_for_stable_group(bootstrap, &topics.transform_group(), transforms)?;

    let mut ingest = common("ingest");
    ingest.extend(
        [
            "--rate",
            &rate.to_string(),
            "--events",
            &events.to_string(),
            "--state-file",
            &dir.join("ingest.state").display().to_string(),
        ]
        .map(String::from),
    );
    let started_ms = now_ms();
    let started = Instant::now();
    let mut producer = spawn(exe, bootstrap, &ingest)?;
    let monitor = Monitor::new(bootstrap, topics, &topics.transform_group())?;
    let limit = Duration::from_secs(60 + 4 * events / rate.max(2_000));
    let mut ingest_ended_ms = None;
    let (counted, seconds) = loop {
        thread::sleep(Duration::from_millis(50));
        if ingest_ended_ms.is_none()
            && let Some(status) = producer.exited()
        {
            if !status.success() {
                bail!("ingest failed ({status}):\n{}", producer.transcript());
            }
            ingest_ended_ms = Some(now_ms());
        }
        for stage in &mut stages {
            if let Some(status) = stage.exited() {
                bail!("a stage exited ({status}):\n{}", stage.transcript());
            }
        }
        if ingest_ended_ms.is_some()
            && let Ok(p) = monitor.read(&db)
            && p.input > 0
            && p.counted == p.input
        {
            break (p.counted, started.elapsed().as_secs_f64());
        }
        if started.elapsed() > limit {
            bail!(
                "the pipeline did not drain {events} events within {limit:?} ({})",
                mode_flag(mode)
            );
        }
    };
    // Stop the stages; their `summary:` lines say how long they spent
    // ending batches.
    let (mut t_ms, mut t_n, mut s_ms, mut s_n) = (0u64, 0u64, 0u64, 0u64);
    for stage in &mut stages {
        stage.signal(nix::sys::signal::Signal::SIGTERM);
        let output = stage
            .finish(Duration::from_secs(60))
            .context("stopping a stage")?;
        let number = |fields: &std::collections::BTreeMap<String, String>, key: &str| -> u64 {
            fields.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        if let Some(transform) = parse_summary(&output, "transform") {
            t_ms += number(&transform, "commit_ms");
            t_n += number(&transform, "transactions");
        }
        if let Some(sink) = parse_summary(&output, "sink") {
            s_ms += number(&sink, "commit_ms");
            s_n += number(&sink, "batches");
        }
    }
    // Windows closed by the watermark: those that ended at least one window
    // before the input stopped (size 1 s).
    let ended = ingest_ended_ms.unwrap_or_else(now_ms);
    let conn = read_only(&db)?;
    let mut query = conn.prepare(
        "SELECT latency_ms FROM window_latency WHERE window_end > ?1 AND window_end <= ?2 ORDER BY latency_ms",
    )?;
    let latencies: Vec<i64> = query
        .query_map([started_ms, ended - 1000], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let at = |q: f64| -> i64 {
        if latencies.is_empty() {
            return -1;
        }
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i]
    };
    Ok(Run {
        mode,
        rate,
        events: counted,
        seconds,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        windows: latencies.len(),
        transform_commit_ms: t_ms as f64 / t_n.max(1) as f64,
        transform_batches: t_n,
        sink_commit_ms: s_ms as f64 / s_n.max(1) as f64,
        sink_batches: s_n,
    })
}

/// Waits until the transform group is Stable with `members` members.
fn wait_for_stable_group(bootstrap: &str, group: &str, members: u8) -> Result<()> {
    let client: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(list) = client.fetch_group_list(Some(group), Duration::from_secs(5))
            && let Some(info) = list.groups().first()
            && info.state() == "Stable"
            && info.members().len() == members as usize
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the transform group {group} did not become stable within 60 s");
        }
        thread::sleep(Duration::from_millis(200));
    }
}

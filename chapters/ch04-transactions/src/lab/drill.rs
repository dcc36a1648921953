//! The crash drill: a worker (the lesson's loop in a child process) stops
//! itself at a chosen point of its third batch and is SIGKILLed there; a new
//! instance with the same group (and `transactional.id`) takes over; then an
//! independent `read_committed` reader counts the output against the input.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tutorial_lab::testing::ChildProcess;
use tutorial_support::Cluster;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};

use super::audit::{self, Audit};
use super::worker::{Mode, PAUSED, PausePoint};

/// Input records per drill, and records per batch (so the kill lands in
/// batch 3 of 6).
pub const RECORDS: usize = 300;
pub const BATCH: u64 = 50;
pub const KILLED_IN_BATCH: u64 = 3;

/// One drill's outcome.
#[derive(Debug, Clone)]
pub struct Drill {
    pub mode: Mode,
    pub point: PausePoint,
    /// What a `read_committed` reader found in the output.
    pub committed: Audit,
    /// Records of the output a `read_uncommitted` reader finds (aborted
    /// copies included).
    pub uncommitted_records: usize,
    /// Records the second instance processed and committed.
    pub taken_over: u64,
}

/// Runs the drill for `mode` with the first worker killed at `point`.
/// `worker` is the chapter binary (`worker` subcommand).
pub async fn run(cluster: &Cluster, worker: &Path, mode: Mode, point: PausePoint) -> Result<Drill> {
    let input = unique_name("ch04-txn-in");
    let output = unique_name("ch04-txn-out");
    ensure_topic(cluster, &input, 2, 1, &[]).await?;
    ensure_topic(cluster, &output, 2, 1, &[]).await?;
    let bootstrap = cluster.bootstrap_servers().to_string();
    let names = (input.clone(), output.clone());
    let worker = worker.to_path_buf();
    let drill = tokio::task::spawn_blocking(move || {
        run_blocking(&bootstrap, &worker, &names.0, &names.1, mode, point)
    })
    .await??;
    delete_topic(cluster, &input).await?;
    delete_topic(cluster, &output).await?;
    Ok(drill)
}

fn run_blocking(
    bootstrap: &str,
    worker: &Path,
    input: &str,
    output: &str,
    mode: Mode,
    point: PausePoint,
) -> Result<Drill> {
    let inputs = audit::inputs(RECORDS);
    audit::write_input(bootstrap, input, &inputs)?;
    let group = unique_name("ch04-txn-group");
    let transactional_id = unique_name("ch04-txn-worker");
    let command = |pause: Option<PausePoint>| {
        let mut command = Command::new(worker);
        command
            .env("KAFKA_BROKERS", bootstrap)
            .args([
                "worker", "--input", input, "--output", output, "--group", &group,
            ])
            .args(["--transactional-id", &transactional_id])
            .args([
                "--max-batch",
                &BATCH.to_string(),
                "--commit-every-ms",
                "60000",
            ])
            .args(["--idle-exit-ms", "3000"])
            .arg("--mode")
            .arg(match mode {
                Mode::ExactlyOnce => "exactly-once",
                Mode::AtLeastOnce => "at-least-once",
            });
        if let Some(point) = pause {
            command
                .args(["--pause-at", point.name()])
                .args(["--pause-in-batch", &KILLED_IN_BATCH.to_string()]);
        }
        command
    };
    let mut first = ChildProcess::try_spawn(command(Some(point)))?;
    first.try_wait_for_line(PAUSED, Duration::from_secs(60))?;
    first.kill();
    let mut second = ChildProcess::try_spawn(command(None))?;
    let transcript = second.finish(Duration::from_secs(120))?;
    let summary = tutorial_support::parse_summary(&transcript, "worker")
        .with_context(|| format!("the second worker printed no summary:\n{transcript}"))?;
    let taken_over = summary
        .get("records")
        .and_then(|r| r.parse().ok())
        .unwrap_or_default();
    let limit = Duration::from_secs(30);
    let committed = audit::read_to_end(bootstrap, output, "read_committed", limit)?;
    let uncommitted = audit::read_to_end(bootstrap, output, "read_uncommitted", limit)?;
    Ok(Drill {
        mode,
        point,
        committed: audit::audit(&inputs, &committed),
        uncommitted_records: uncommitted.len(),
        taken_over,
    })
}

/// The rebalance drill's outcome.
#[derive(Debug, Clone)]
pub struct Revoke {
    /// What a `read_committed` reader found in the output.
    pub committed: Audit,
    /// Records the first instance committed (in its loop; the commit on
    /// revoke is not counted there) and the second one processed.
    pub first: u64,
    pub second: u64,
}

/// A second instance (its own `transactional.id`) joins the group while the
/// first one holds every input record in one open transaction: the first
/// one's revoke callback must commit it before the partitions move.
pub async fn revoke(cluster: &Cluster, worker: &Path) -> Result<Revoke> {
    let input = unique_name("ch04-txn-in");
    let output = unique_name("ch04-txn-out");
    ensure_topic(cluster, &input, 2, 1, &[]).await?;
    ensure_topic(cluster, &output, 2, 1, &[]).await?;
    let bootstrap = cluster.bootstrap_servers().to_string();
    let (i, o, w) = (input.clone(), output.clone(), worker.to_path_buf());
    let revoke =
        tokio::task::spawn_blocking(move || revoke_blocking(&bootstrap, &w, &i, &o)).await??;
    delete_topic(cluster, &input).await?;
    delete_topic(cluster, &output).await?;
    Ok(revoke)
}

fn revoke_blocking(bootstrap: &str, worker: &Path, input: &str, output: &str) -> Result<Revoke> {
    let inputs = audit::inputs(RECORDS);
    audit::write_input(bootstrap, input, &inputs)?;
    let group = unique_name("ch04-txn-group");
    let command = |name: &str| {
        let mut command = Command::new(worker);
        command
            .env("KAFKA_BROKERS", bootstrap)
            .args(["worker", "--input", input, "--output", output])
            .args(["--group", &group, "--transactional-id", name])
            // One transaction for everything, committed only on revoke.
            .args(["--max-batch", "1000000", "--commit-every-ms", "600000"])
            .args(["--idle-exit-ms", "3000"]);
        command
    };
    let mut first = ChildProcess::try_spawn(command(&unique_name("ch04-txn-first")))?;
    // Wait until the whole input is processed (written, not committed).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let written = audit::read_to_end(
            bootstrap,
            output,
            "read_uncommitted",
            Duration::from_secs(30),
        )?;
        if written.len() >= RECORDS {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "the first worker wrote {} of {RECORDS} records:\n{}",
                written.len(),
                first.transcript()
            );
        }
        thread::sleep(Duration::from_millis(200));
    }
    let mut second = ChildProcess::try_spawn(command(&unique_name("ch04-txn-second")))?;
    let records = |transcript: &str| -> u64 {
        tutorial_support::parse_summary(transcript, "worker")
            .and_then(|s| s.get("records").and_then(|r| r.parse().ok()))
            .unwrap_or_default()
    };
    let second_records = records(&second.finish(Duration::from_secs(120))?);
    let first_records = records(&first.finish(Duration::from_secs(60))?);
    let committed =
        audit::read_to_end(bootstrap, output, "read_committed", Duration::from_secs(30))?;
    Ok(Revoke {
        committed: audit::audit(&inputs, &committed),
        first: first_records,
        second: second_records,
    })
}

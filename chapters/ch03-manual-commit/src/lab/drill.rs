//! One crash drill: a worker process consumes a one-partition topic in one
//! mode; when a given offset has been handed to it — but not processed — it
//! is killed with SIGKILL (for the auto mode, once the background
//! auto-commit has moved past that offset). Then a fresh consumer of the
//! same group takes over from the committed offset and runs to the end.
//! The sink file tells what was lost and what was repeated.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

use super::{
    Audit, Mode, Sink, Until, apply_deduplicated, audit, committed_offset, run_worker, subscribe,
};

/// The outcome of one crash drill.
#[derive(Debug, Clone)]
pub struct Drill {
    pub mode: Mode,
    /// The group's committed offset right after the kill.
    pub committed_at_kill: i64,
    pub audit: Audit,
    /// Records applied once each after deduplication by offset.
    pub applied_after_dedupe: usize,
}

/// Runs the drill: `worker_exe` is this chapter's binary (its `worker`
/// subcommand), `records` were produced to `topic`, the worker stalls and
/// is killed at `crash_at`; `sink` is the file both consumers append to.
pub async fn crash_drill(
    worker_exe: &Path,
    bootstrap: &str,
    topic: &str,
    mode: Mode,
    records: i64,
    crash_at: i64,
    sink: &Path,
) -> Result<Drill> {
    let group = tutorial_support::topics::unique_name(&format!("ch03-{}", mode.name()));
    let mut child = Command::new(worker_exe)
        .args([
            "worker",
            "--brokers",
            bootstrap,
            "--topic",
            topic,
            "--group",
            &group,
        ])
        .args(["--mode", mode.name(), "--stall-at", &crash_at.to_string()])
        .arg("--sink")
        .arg(sink)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the worker")?;
    let stalled = wait_for_stall(&mut child);
    if stalled.is_ok() && mode == Mode::Auto {
        // The offset was stored when the record was handed out; the next
        // background auto-commit sends it although nothing processed it.
        wait_until_committed_past(bootstrap, topic, &group, crash_at).await?;
    }
    child.kill()?;
    child.wait()?;
    stalled?;
    let committed_at_kill = committed_offset(bootstrap, topic, &group)?.unwrap_or(0);

    let consumer = subscribe(bootstrap, topic, &group, mode)?;
    let mut sink_file = Sink::open(sink)?;
    let never = CancellationToken::new();
    run_worker(&consumer, &mut sink_file, mode, Until::CaughtUp, &never).await?;
    drop(consumer);

    Ok(Drill {
        mode,
        committed_at_kill,
        audit: audit(sink, records)?,
        applied_after_dedupe: apply_deduplicated(sink)?.len(),
    })
}

fn wait_for_stall(child: &mut Child) -> Result<()> {
    let stdout = child.stdout.take().context("worker stdout")?;
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with("STALLED") {
                let _ = sender.send(());
            }
        }
    });
    receiver
        .recv_timeout(Duration::from_secs(60))
        .context("the worker did not reach the crash point within 60 s")
}

async fn wait_until_committed_past(
    bootstrap: &str,
    topic: &str,
    group: &str,
    offset: i64,
) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if committed_offset(bootstrap, topic, group)?.is_some_and(|c| c > offset) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("no auto-commit past offset {offset} within 20 s")
}

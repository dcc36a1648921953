//! Builds test binaries once with `cargo test --no-run`, then runs several
//! of them at a time.
//!
//! Why not plain `cargo test`: it runs one test binary after another, and
//! most of ours spend their time waiting on the broker (session timeouts,
//! crash drills, `linger.ms`), not on the CPU; run one by one they took
//! ~19 of the 1-broker phase's ~23 minutes. Why not cargo-nextest: it runs
//! every test in its own process (tests in one binary here share a
//! `OnceCell`'d cluster handle) and a fresh machine would have to compile it
//! first. Each binary still runs its own tests on its own threads, exactly
//! as `cargo test` would run it (same working directory, same arguments).

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::paths;

/// A test binary gets this long before it is killed and counted as failed:
/// the slowest takes ~100 s alone, so this only ever catches a hang.
const BINARY_TIMEOUT: Duration = Duration::from_secs(600);

/// One executable that `cargo test --no-run` built.
#[derive(Debug, Clone)]
pub struct TestBinary {
    /// `ch02-writer tests/cli.rs`, for people.
    pub label: String,
    /// The package's directory: `cargo test` runs each binary from there.
    pub dir: PathBuf,
    pub package: String,
    pub executable: PathBuf,
}

/// What one binary printed and how it ended.
pub struct Finished {
    pub binary: TestBinary,
    pub success: bool,
    pub output: String,
    pub elapsed: Duration,
}

/// `cargo test --no-run <selection>`: builds, streams the compiler's
/// progress through, and returns the test executables in cargo's order.
pub fn build(selection: &[&str]) -> Result<Vec<TestBinary>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "test",
            "--locked",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(selection)
        .current_dir(paths::workspace())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo test --no-run")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Diagnostics come as JSON with a `rendered` text: print those.
    let mut binaries = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if let Some(rendered) = message
            .pointer("/message/rendered")
            .and_then(|r| r.as_str())
        {
            eprint!("{rendered}");
        }
        if let Some(binary) = test_binary(&message) {
            binaries.push(binary);
        }
    }
    if !output.status.success() {
        bail!(
            "the tests did not build (cargo test --no-run exited with {})",
            output.status
        );
    }
    Ok(binaries)
}

fn test_binary(message: &serde_json::Value) -> Option<TestBinary> {
    if message["reason"] != "compiler-artifact" || message["profile"]["test"] != true {
        return None;
    }
    let executable = PathBuf::from(message["executable"].as_str()?);
    let dir = Path::new(message["manifest_path"].as_str()?)
        .parent()?
        .to_path_buf();
    let package = dir.file_name()?.to_string_lossy().into_owned();
    let src = Path::new(message["target"]["src_path"].as_str()?);
    let src = src.strip_prefix(&dir).unwrap_or(src).display().to_string();
    Some(TestBinary {
        label: format!("{package} {src}"),
        dir,
        package,
        executable,
    })
}

/// Runs `binaries` with `args`, `jobs` at a time, and hands each one to
/// `report` as it finishes (in finishing order). Returns all of them.
pub fn run(
    binaries: Vec<TestBinary>,
    args: &[&str],
    envs: &[(&str, &str)],
    jobs: usize,
    mut report: impl FnMut(&Finished, usize, usize),
) -> Vec<Finished> {
    let total = binaries.len();
    let queue = Arc::new(Mutex::new(VecDeque::from(binaries)));
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let logs = paths::workspace().join("target/xtask-test-logs");
    let _ = std::fs::create_dir_all(&logs);
    let (done, results) = mpsc::channel();
    let mut workers = Vec::new();
    for worker in 0..jobs.max(1) {
        let queue = Arc::clone(&queue);
        let done = done.clone();
        let args = args.clone();
        let envs = envs.clone();
        let log = logs.join(format!("worker-{worker}.log"));
        workers.push(std::thread::spawn(move || {
            loop {
                let Some(binary) = queue.lock().expect("queue").pop_front() else {
                    break;
                };
                let finished = run_one(binary, &args, &envs, &log);
                if done.send(finished).is_err() {
                    break;
                }
            }
        }));
    }
    drop(done);
    let mut all = Vec::new();
    for finished in results {
        all.push(finished);
        report(all.last().expect("just pushed"), all.len(), total);
    }
    for worker in workers {
        let _ = worker.join();
    }
    all
}

/// One binary, its stdout and stderr interleaved in a log file (as a
/// terminal would show them), killed after `BINARY_TIMEOUT`.
fn run_one(binary: TestBinary, args: &[String], envs: &[(String, String)], log: &Path) -> Finished {
    let started = Instant::now();
    let outcome = (|| -> Result<(bool, String)> {
        let file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut child = Command::new(&binary.executable)
            .args(args)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            // What cargo test sets for a test binary it runs.
            .env("CARGO_MANIFEST_DIR", &binary.dir)
            .env("CARGO_PKG_NAME", &binary.package)
            .env("RUST_BACKTRACE", "0")
            .current_dir(&binary.dir)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {}", binary.executable.display()))?;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if started.elapsed() > BINARY_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut output = std::fs::read_to_string(log).unwrap_or_default();
        match status {
            Some(status) => {
                if !status.success() && !output.contains("test result:") {
                    output.push_str(&format!("\n(exited with {status} before its summary)\n"));
                }
                Ok((status.success(), output))
            }
            None => {
                output.push_str(&format!(
                    "\nKILLED: still running after {} s (a hang: every wait in a test must be bounded)\n",
                    BINARY_TIMEOUT.as_secs()
                ));
                Ok((false, output))
            }
        }
    })();
    let (success, output) = outcome.unwrap_or_else(|e| (false, format!("{e:#}\n")));
    Finished {
        binary,
        success,
        output,
        elapsed: started.elapsed(),
    }
}

//! Fault injection on the local cluster that `cargo xtask kafka up` started:
//! pause a broker (SIGSTOP), resume it, kill it (SIGKILL) and start it again
//! with the same command line. Used by the chapters that show what happens
//! when brokers fail (acks and replication).
//!
//! A [`Faults`] guard undoes everything it did when dropped — resuming paused
//! nodes and restarting killed ones — so a failing test leaves a working
//! cluster behind.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Why the local cluster could not be used or changed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no cluster started by `cargo xtask kafka up` is running ({0}); fault-injection demos need one: \
         run `cargo xtask kafka up --nodes 3`"
    )]
    NotRunning(String),
    #[error("node {node}: {reason}")]
    Node { node: i32, reason: String },
}

/// One broker process of the local cluster.
#[derive(Debug, Clone)]
pub struct LocalNode {
    /// `node.id`, which is also the broker id clients see.
    pub id: i32,
    pid: u32,
    dir: PathBuf,
    argv: Vec<String>,
}

/// The nodes of the running local cluster, by id.
pub fn nodes() -> Result<Vec<LocalNode>, ClusterError> {
    let state = kafka_layout::kafka_state();
    let layout = fs::read_to_string(state.join("running"))
        .map_err(|_| ClusterError::NotRunning(format!("no {}", state.join("running").display())))?;
    let count: i32 = layout
        .trim()
        .parse()
        .map_err(|_| ClusterError::NotRunning(format!("unreadable layout {layout:?}")))?;
    (1..=count)
        .map(|id| {
            let dir = state
                .join(format!("{count}-node"))
                .join(format!("node-{id}"));
            let pid: u32 = fs::read_to_string(dir.join("pid"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| ClusterError::NotRunning(format!("node {id} has no pid file")))?;
            let argv = command_line(pid).ok_or_else(|| {
                ClusterError::NotRunning(format!("node {id} (pid {pid}) is not running"))
            })?;
            Ok(LocalNode { id, pid, dir, argv })
        })
        .collect()
}

fn command_line(pid: u32) -> Option<Vec<String>> {
    let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .collect();
    argv.iter().any(|a| a == "kafka.Kafka").then_some(argv)
}

fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|rest| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

fn signal(node: &LocalNode, signal: Signal) -> Result<(), ClusterError> {
    let pid = Pid::from_raw(node.pid as i32);
    kill(pid, signal).map_err(|e| ClusterError::Node {
        node: node.id,
        reason: format!("{signal:?} to pid {}: {e}", node.pid),
    })
}

/// Faults injected into the local cluster, undone on drop.
#[derive(Default)]
pub struct Faults {
    paused: Vec<LocalNode>,
    killed: Vec<LocalNode>,
}

impl Faults {
    pub fn new() -> Self {
        Self::default()
    }

    /// SIGSTOP: the broker (and its controller) freezes; connections stay
    /// open but nothing answers, exactly like a long GC pause or a hung VM.
    pub fn pause(&mut self, node: &LocalNode) -> Result<(), ClusterError> {
        signal(node, Signal::SIGSTOP)?;
        self.paused.push(node.clone());
        Ok(())
    }

    /// SIGCONT a node paused earlier.
    pub fn resume(&mut self, node_id: i32) -> Result<(), ClusterError> {
        if let Some(i) = self.paused.iter().position(|n| n.id == node_id) {
            let node = self.paused.remove(i);
            signal(&node, Signal::SIGCONT)?;
        }
        Ok(())
    }

    /// SIGKILL: the broker dies at once, without a controlled shutdown.
    pub fn kill(&mut self, node: &LocalNode) -> Result<(), ClusterError> {
        signal(node, Signal::SIGKILL)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(node.pid) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        self.killed.push(node.clone());
        Ok(())
    }

    /// Starts a killed node again with its original command line, and
    /// records the new pid where `cargo xtask kafka down` will find it.
    pub fn restart(&mut self, node_id: i32) -> Result<(), ClusterError> {
        let Some(i) = self.killed.iter().position(|n| n.id == node_id) else {
            return Ok(());
        };
        let node = self.killed.remove(i);
        let fail = |reason: String| ClusterError::Node {
            node: node.id,
            reason,
        };
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("stdout.log"))
            .map_err(|e| fail(format!("opening stdout.log: {e}")))?;
        let log2 = log.try_clone().map_err(|e| fail(e.to_string()))?;
        let child = Command::new(&node.argv[0])
            .args(&node.argv[1..])
            .current_dir(&node.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0)
            .spawn()
            .map_err(|e| fail(format!("restarting: {e}")))?;
        fs::write(node.dir.join("pid"), child.id().to_string())
            .map_err(|e| fail(format!("writing pid file: {e}")))?;
        Ok(())
    }
}

impl Drop for Faults {
    fn drop(&mut self) {
        for node in std::mem::take(&mut self.paused) {
            let _ = signal(&node, Signal::SIGCONT);
        }
        let killed: Vec<i32> = self.killed.iter().map(|n| n.id).collect();
        for id in killed {
            if let Err(error) = self.restart(id) {
                eprintln!("warning: could not restart node {id}: {error}");
            }
        }
    }
}

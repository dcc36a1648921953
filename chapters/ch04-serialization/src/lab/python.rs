//! The Python peer of the interop drills: `python/clicks.py` (protobuf,
//! fastavro and confluent-kafka, pinned in `python/requirements.txt`) run
//! from a virtual environment that is created on first use.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tutorial_lab::process::run_bounded;

use crate::lesson::protobuf::FILE_DESCRIPTOR_SET;

const ADVICE: &str = "the interop drills need Python 3.9+ with the venv module \
                      (Debian: apt-get install python3-venv) and access to PyPI";

/// `chapters/ch04-serialization/python`.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}

/// A virtual environment at `venv` with the pinned requirements.
#[derive(Debug, Clone)]
pub struct PythonPeer {
    venv: PathBuf,
}

impl PythonPeer {
    /// The tests use `target/py-ch04`.
    pub fn new(venv: impl Into<PathBuf>) -> Self {
        PythonPeer { venv: venv.into() }
    }

    /// The venv's python, with the requirements installed. Reinstalls when
    /// requirements.txt changed; says what to install when that is impossible.
    pub fn python(&self) -> Result<PathBuf> {
        static LOCK: Mutex<()> = Mutex::new(());
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let python = self.venv.join("bin/python");
        let requirements = python_dir().join("requirements.txt");
        let wanted = std::fs::read_to_string(&requirements)
            .with_context(|| format!("reading {}", requirements.display()))?;
        let stamp = self.venv.join("installed-requirements.txt");
        if python.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&wanted) {
            return Ok(python);
        }
        if !python.exists() {
            let mut venv = Command::new("python3");
            venv.arg("-m").arg("venv").arg(&self.venv);
            checked(venv, Duration::from_secs(120), "creating the venv")?;
        }
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements);
        checked(
            pip,
            Duration::from_secs(600),
            "pip install -r requirements.txt",
        )?;
        std::fs::write(&stamp, wanted).context("writing the venv stamp")?;
        Ok(python)
    }

    /// Runs `clicks.py` with `args`; its stdout, or an error with both streams.
    pub fn clicks_py(&self, args: &[&str]) -> Result<String> {
        let mut command = Command::new(self.python()?);
        command.arg(python_dir().join("clicks.py")).args(args);
        checked(
            command,
            Duration::from_secs(120),
            &format!("python clicks.py {}", args.join(" ")),
        )
    }

    /// The compiled .proto files as a FileDescriptorSet file for Python.
    pub fn descriptor_file(&self) -> Result<PathBuf> {
        let path = self.venv.join("clicks.fds");
        std::fs::create_dir_all(&self.venv)
            .with_context(|| format!("creating {}", self.venv.display()))?;
        // Written aside and renamed: a peer reading it meanwhile never sees half a file.
        static WRITES: AtomicU32 = AtomicU32::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let partial = self
            .venv
            .join(format!("clicks.fds.{}-{n}.partial", std::process::id()));
        std::fs::write(&partial, FILE_DESCRIPTOR_SET).context("writing clicks.fds")?;
        std::fs::rename(&partial, &path).context("renaming clicks.fds")?;
        Ok(path)
    }
}

/// Runs `command` within `limit`; its stdout if it succeeded.
fn checked(command: Command, limit: Duration, what: &str) -> Result<String> {
    let captured = run_bounded(command, limit, what, ADVICE)?;
    if !captured.success() {
        bail!("{what} failed ({}):\n{}", captured.status, captured.text());
    }
    Ok(captured.stdout)
}

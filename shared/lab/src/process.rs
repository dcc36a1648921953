//! Child processes for labs, without panics: a bounded run that returns what
//! the child printed, or an error saying what could not be run and why.
//! (Tests that watch a child line by line use [`crate::ChildProcess`].)

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// Why a child process gave no result.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run `{program}` for {what} ({error}){hint}")]
    Spawn {
        what: String,
        program: String,
        error: std::io::Error,
        /// What to install, with a leading "; " (or empty).
        hint: String,
    },
    #[error("{what} did not finish within {limit:?} and was killed; output so far:\n{output}")]
    Timeout {
        what: String,
        limit: Duration,
        output: String,
    },
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
}

/// What a finished child printed.
#[derive(Debug, Clone)]
pub struct Captured {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Captured {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// stdout, then stderr.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `command` to the end, capturing stdout and stderr; kills it after
/// `limit`. `hint` tells the reader what to install if it cannot start.
pub fn run_bounded(
    mut command: Command,
    limit: Duration,
    what: &str,
    hint: &str,
) -> Result<Captured, RunError> {
    let program = command.get_program().to_string_lossy().into_owned();
    // Its own process group, so a timeout kills what it started too (`go run`
    // runs the built program as a grandchild that would keep the pipes open).
    let mut child = command
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| RunError::Spawn {
            what: what.into(),
            program,
            error,
            hint: if hint.is_empty() {
                String::new()
            } else {
                format!("; {hint}")
            },
        })?;
    let readers = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .map(|stream| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stream) = stream {
                let mut bytes = Vec::new();
                let _ = stream.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
    });
    let deadline = Instant::now() + limit;
    let io = |error| RunError::Io {
        what: what.into(),
        error,
    };
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            break Some(status);
        }
        if Instant::now() >= deadline {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let [stdout, stderr] = readers.map(|r| r.join().unwrap_or_default());
    match status {
        Some(status) => Ok(Captured {
            status,
            stdout,
            stderr,
        }),
        None => Err(RunError::Timeout {
            what: what.into(),
            limit,
            output: format!("{stdout}{stderr}"),
        }),
    }
}

/// [`run_bounded`] off the async runtime, for labs written with tokio.
pub async fn run_bounded_async(
    command: Command,
    limit: Duration,
    what: &str,
    hint: &str,
) -> Result<Captured, RunError> {
    let (what, hint) = (what.to_string(), hint.to_string());
    tokio::task::spawn_blocking(move || run_bounded(command, limit, &what, &hint))
        .await
        .map_err(|e| RunError::Io {
            what: "joining a child-process runner".into(),
            error: std::io::Error::other(e),
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_status() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let captured = run_bounded(command, Duration::from_secs(5), "a shell", "").unwrap();
        assert_eq!(captured.status.code(), Some(3));
        assert_eq!(captured.stdout, "out\n");
        assert_eq!(captured.stderr, "err\n");
    }

    #[test]
    fn a_missing_program_and_a_hang_are_errors_not_panics() {
        let error = run_bounded(
            Command::new("no-such-program-here"),
            Duration::from_secs(5),
            "the peer",
            "install it",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("no-such-program-here") && error.contains("install it"),
            "{error}"
        );

        let mut sleeper = Command::new("sh");
        sleeper.args(["-c", "echo started; sleep 30"]);
        let started = Instant::now();
        let error = run_bounded(sleeper, Duration::from_millis(300), "a sleeper", "").unwrap_err();
        assert!(matches!(error, RunError::Timeout { .. }), "{error}");
        assert!(error.to_string().contains("started"));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

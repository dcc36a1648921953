//! A chapter's Go program (its `go/` directory, a module that pins kafka-go):
//! run with `go run .` or built once with `go build`, always bounded, with a
//! clear error when Go is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{Captured, RunError, run_bounded, run_bounded_async};

/// What to tell a reader who has no `go`.
pub const INSTALL_GO: &str =
    "install Go 1.23 or newer (https://go.dev/dl/) and make sure `go` is on the PATH";
/// The first run compiles kafka-go; later runs come from Go's build cache.
pub const FIRST_BUILD_LIMIT: Duration = Duration::from_secs(300);

/// A Go module directory, and the main package in it that [`GoProgram::build`]
/// builds (`.` unless told otherwise).
#[derive(Debug, Clone)]
pub struct GoProgram {
    dir: PathBuf,
    package: String,
}

impl GoProgram {
    /// The module in `dir`, e.g. `concat!(env!("CARGO_MANIFEST_DIR"), "/go")`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            package: ".".into(),
        }
    }

    /// The main package to build, relative to the module (`./franz`), for a
    /// module with several programs.
    pub fn with_package(mut self, package: &str) -> Self {
        self.package = package.into();
        self
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `go` can be run at all.
    pub fn available() -> bool {
        Command::new("go")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// `go run . ARGS…`, bounded by `limit`, off the async runtime.
    pub async fn run(&self, args: &[&str], limit: Duration) -> Result<Captured, RunError> {
        let mut command = Command::new("go");
        command.args(["run", "."]).args(args).current_dir(&self.dir);
        let what = format!("the Go program in {}", self.dir.display());
        run_bounded_async(command, limit, &what, INSTALL_GO).await
    }

    /// `go build -o OUTPUT PACKAGE`, so repeated runs (benchmarks) pay no compile
    /// time; returns the binary's path.
    pub fn build(&self, output: &Path) -> Result<PathBuf, RunError> {
        if let Some(parent) = output.parent() {
            std::fs::create_dir_all(parent).map_err(|error| RunError::Io {
                what: format!("creating {}", parent.display()),
                error,
            })?;
        }
        let mut command = Command::new("go");
        command
            .arg("build")
            .arg("-o")
            .arg(output)
            .arg(&self.package)
            .current_dir(&self.dir);
        let what = format!("go build in {}", self.dir.display());
        let built = run_bounded(command, FIRST_BUILD_LIMIT, &what, INSTALL_GO)?;
        if !built.success() {
            return Err(RunError::Io {
                what,
                error: std::io::Error::other(built.text()),
            });
        }
        Ok(output.to_path_buf())
    }
}

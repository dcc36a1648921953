//! kafka-go: the Go program in `labs/bench/go`, built once per bench (so no
//! run pays for compilation) and given the same [`RunSpec`] JSON as our
//! child. The Go side maps the librdkafka-named settings onto its `Writer`
//! and `Reader` fields itself (`writerSettings` in `main.go`); `describe`
//! prints that mapping without connecting.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use tutorial_lab::go::GoProgram;

use super::RunSpec;

/// The Go module of the lab.
pub fn program() -> GoProgram {
    GoProgram::new(concat!(env!("CARGO_MANIFEST_DIR"), "/go"))
}

/// Where the bench builds the program.
pub fn binary_path() -> PathBuf {
    kafka_layout::workspace()
        .join("target")
        .join("bench-lab")
        .join("kafka-go-bench")
}

/// `go build` into [`binary_path`]; returns the binary.
pub fn build() -> Result<PathBuf> {
    Ok(program().build(&binary_path())?)
}

/// Runs `spec` with the built program: its one argument is the spec.
pub fn command(binary: &Path, spec: &RunSpec) -> Result<Command> {
    let mut command = Command::new(binary);
    command.arg(spec.to_json()?);
    Ok(command)
}

/// The program's `describe` mode: the kafka-go settings it would use for
/// `spec`, as JSON, without connecting to a broker.
pub fn describe(binary: &Path, spec: &RunSpec) -> Result<Command> {
    let mut command = Command::new(binary);
    command.arg("describe").arg(spec.to_json()?);
    Ok(command)
}

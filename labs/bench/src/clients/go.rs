//! The Go peers: kafka-go (`labs/bench/go/kafkago`) and franz-go
//! (`labs/bench/go/franz`), two programs of one Go module (`labs/bench/go`,
//! their shared spec and result types in its package `peer`), built once
//! per bench (so no run pays for compilation) and given the same
//! [`RunSpec`] JSON as our child. Each program maps the librdkafka-named
//! settings onto its own client's options itself (`writerSettings` /
//! `producerSettings` in its `main.go`); `describe` prints that mapping
//! without connecting.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use tutorial_lab::go::GoProgram;

use super::{Client, RunSpec};

/// One Go peer: where its module is and what its binary is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoPeer {
    pub client: Client,
    /// The program's main package in the `go` module.
    package: &'static str,
    binary: &'static str,
    /// The Go module path of the client library, as go.mod names it.
    library: &'static str,
}

/// segmentio/kafka-go's `Writer` / `Reader`.
pub const KAFKA_GO: GoPeer = GoPeer {
    client: Client::KafkaGo,
    package: "./kafkago",
    binary: "kafka-go-bench",
    library: "github.com/segmentio/kafka-go",
};

/// twmb/franz-go's `kgo.Client`.
pub const FRANZ_GO: GoPeer = GoPeer {
    client: Client::FranzGo,
    package: "./franz",
    binary: "franz-go-bench",
    library: "github.com/twmb/franz-go",
};

impl GoPeer {
    /// The peer that runs as `client`, if it is a Go one.
    pub fn of(client: Client) -> Option<GoPeer> {
        [KAFKA_GO, FRANZ_GO]
            .into_iter()
            .find(|p| p.client == client)
    }

    /// The Go module and the program's package in it.
    pub fn program(self) -> GoProgram {
        GoProgram::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("go")).with_package(self.package)
    }

    /// Where the bench builds the program.
    pub fn binary_path(self) -> PathBuf {
        kafka_layout::workspace()
            .join("target")
            .join("bench-lab")
            .join(self.binary)
    }

    /// `go build` into [`GoPeer::binary_path`]; returns the binary.
    pub fn build(self) -> Result<PathBuf> {
        Ok(self.program().build(&self.binary_path())?)
    }

    /// Runs `spec` with the built program: its one argument is the spec.
    pub fn command(self, binary: &Path, spec: &RunSpec) -> Result<Command> {
        let mut command = Command::new(binary);
        command.arg(spec.to_json()?);
        Ok(command)
    }

    /// The program's `describe` mode: the settings it would use for
    /// `spec`, as JSON, without connecting to a broker.
    pub fn describe(self, binary: &Path, spec: &RunSpec) -> Result<Command> {
        let mut command = Command::new(binary);
        command.arg("describe").arg(spec.to_json()?);
        Ok(command)
    }

    /// The library version pinned in the module's go.mod (empty if unreadable).
    pub fn library_version(self) -> String {
        std::fs::read_to_string(self.program().dir().join("go.mod"))
            .ok()
            .and_then(|m| {
                // `require LIB vX` or, inside a require block, `LIB vX`.
                m.lines().find_map(|line| {
                    let words: Vec<&str> = line
                        .split_whitespace()
                        .filter(|w| *w != "require")
                        .collect();
                    match words.as_slice() {
                        [library, version, ..] if *library == self.library => {
                            Some(version.to_string())
                        }
                        _ => None,
                    }
                })
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_peers_name_their_pinned_library_version() {
        assert!(
            KAFKA_GO.library_version().starts_with("v0."),
            "{KAFKA_GO:?}"
        );
        assert!(
            FRANZ_GO.library_version().starts_with("v1."),
            "{FRANZ_GO:?}"
        );
        assert_eq!(GoPeer::of(Client::FranzGo), Some(FRANZ_GO));
        assert_eq!(GoPeer::of(Client::JavaPerf), None);
    }
}

//! The local Kafka cluster's layout, without any Kafka client library:
//! the pinned version, where the jars, data and caches live, `java` and the
//! Kafka CLI tools built from the same jars, **every port the project uses**
//! ([`ports`]), and a tiny Metadata probe ([`probe`]).
//!
//! `cargo xtask` depends on this crate and not on rdkafka, so a fresh clone's
//! first `cargo xtask kafka up` does not compile librdkafka.

pub mod ports;
pub mod probe;
pub mod secure;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Why Java or a Kafka tool cannot be used. The message says what to do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JavaError(pub String);

/// The pinned Kafka version (broker, tools, Docker image).
pub const KAFKA_VERSION: &str = "4.3.1";

/// Short names for the Kafka tools the chapters use.
pub const TOOL_ALIASES: &[(&str, &str)] = &[
    ("topics", "org.apache.kafka.tools.TopicCommand"),
    ("configs", "kafka.admin.ConfigCommand"),
    ("console-producer", "org.apache.kafka.tools.ConsoleProducer"),
    (
        "console-consumer",
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
    ),
    (
        "consumer-groups",
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    ),
    (
        "producer-perf",
        "org.apache.kafka.tools.ProducerPerformance",
    ),
    (
        "consumer-perf",
        "org.apache.kafka.tools.ConsumerPerformance",
    ),
    ("get-offsets", "org.apache.kafka.tools.GetOffsetShell"),
    (
        "metadata-quorum",
        "org.apache.kafka.tools.MetadataQuorumCommand",
    ),
    ("cluster", "org.apache.kafka.tools.ClusterTool"),
    ("storage", "kafka.tools.StorageTool"),
    // 四.6: ACLs on the secured node (rdkafka has no ACL admin calls).
    ("acls", "org.apache.kafka.tools.AclCommand"),
];

/// The workspace root (this crate lives in `shared/layout`).
pub fn workspace() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// Broker data, logs and pid files of `cargo xtask kafka up`: under
/// `target/`, so `cargo clean` removes them. A cluster on another port base
/// (`KAFKA_PORT_BASE`, see [`ports`]) keeps its own: `target/kafka-<base>`.
pub fn kafka_state() -> PathBuf {
    let base = ports::base();
    let name = if base == ports::DEFAULT_BASE {
        "kafka".to_string()
    } else {
        format!("kafka-{base}")
    };
    workspace().join("target").join(name)
}

/// Downloads and tools shared by every checkout on this machine, outside the
/// source tree: `$RUST_KAFKA_TUTORIAL_CACHE`, else `$XDG_CACHE_HOME/rust-kafka-tutorial`,
/// else `~/.cache/rust-kafka-tutorial`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RUST_KAFKA_TUTORIAL_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| workspace().join("target"));
    base.join("rust-kafka-tutorial")
}

/// Where the Kafka jars live once fetched.
pub fn libs_dir() -> PathBuf {
    cache_dir()
        .join(format!("kafka-{KAFKA_VERSION}"))
        .join("libs")
}

/// True once `cargo xtask kafka up` (or `ensure_jars`) fetched every jar.
pub fn jars_present() -> bool {
    libs_dir().join(".complete").exists()
}

/// `java` from `$JAVA_HOME` or the `PATH`, checked to be Java 17 or newer.
pub fn java() -> Result<PathBuf, JavaError> {
    let java = std::env::var_os("JAVA_HOME")
        .map(|home| PathBuf::from(home).join("bin").join("java"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("java"));
    let output = Command::new(&java).arg("-version").output().map_err(|e| {
        JavaError(format!(
            "cannot run `{}` ({e}): Kafka {KAFKA_VERSION} needs Java 17 or newer. Install a JDK \
             (e.g. `apt-get install openjdk-17-jre-headless`) or use Docker: `docker compose up -d`",
            java.display()
        ))
    })?;
    let text = String::from_utf8_lossy(&output.stderr);
    let major = java_major(&text).ok_or_else(|| {
        JavaError(format!(
            "cannot read the Java version from `java -version`:\n{text}"
        ))
    })?;
    if major < 17 {
        return Err(JavaError(format!(
            "Java {major} found at `{}`, but Kafka {KAFKA_VERSION} needs Java 17 or newer; \
             set JAVA_HOME to a newer JDK",
            java.display()
        )));
    }
    Ok(java)
}

/// Parses the major version from `java -version` output (`"17.0.15"`, `"1.8.0_392"`).
pub fn java_major(text: &str) -> Option<u32> {
    let quoted = text.split('"').nth(1)?;
    let mut parts = quoted.split(['.', '-', '+', '_']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Resolves an alias; anything containing a dot is taken as a class name.
pub fn tool_class(name: &str) -> Result<&str, JavaError> {
    if let Some((_, class)) = TOOL_ALIASES.iter().find(|(alias, _)| *alias == name) {
        return Ok(class);
    }
    if name.contains('.') {
        return Ok(name);
    }
    Err(JavaError(format!(
        "unknown Kafka tool `{name}`: use a fully qualified class name or one of: {}",
        TOOL_ALIASES
            .iter()
            .map(|(a, _)| *a)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// `java -cp <jars> <class>` for a Kafka tool (alias or class), logging only
/// warnings, to stderr. Fails clearly if the jars were never fetched.
pub fn tool_command(name: &str) -> Result<Command, JavaError> {
    let class = tool_class(name)?;
    if !jars_present() {
        return Err(JavaError(format!(
            "the Kafka {KAFKA_VERSION} jars are not in {} yet: run `cargo xtask kafka up` once to fetch them",
            libs_dir().display()
        )));
    }
    Ok(java_class_command(&java()?, &libs_dir(), class))
}

/// `java -cp <libs>/* <class>` with the tools' log4j2 configuration.
pub fn java_class_command(java: &Path, libs: &Path, class: &str) -> Command {
    let mut command = Command::new(java);
    command
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            workspace()
                .join("xtask/kafka/tools-log4j2.properties")
                .display()
        ))
        .arg("-cp")
        .arg(format!("{}/*", libs.display()))
        .arg(class);
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_major_reads_modern_and_legacy_versions() {
        assert_eq!(
            java_major(r#"openjdk version "17.0.15" 2025-04-15"#),
            Some(17)
        );
        assert_eq!(java_major(r#"openjdk version "25" 2025-09-16"#), Some(25));
        assert_eq!(java_major(r#"java version "1.8.0_392""#), Some(8));
        assert_eq!(java_major("no version here"), None);
    }

    #[test]
    fn unknown_tool_names_are_rejected_with_the_list() {
        assert_eq!(
            tool_class("topics").unwrap(),
            "org.apache.kafka.tools.TopicCommand"
        );
        assert_eq!(tool_class("org.example.Tool").unwrap(), "org.example.Tool");
        let error = tool_class("topix").unwrap_err().to_string();
        assert!(error.contains("topix") && error.contains("console-consumer"));
    }
}

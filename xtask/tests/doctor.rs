//! `cargo xtask doctor` on this machine, and with `java` hidden from `PATH`.
//!
//! Both runs use a port base nothing else uses here (27092), so a broker or a
//! lab relay of another test cannot make the port check fail.

use std::path::PathBuf;
use std::process::{Command, Output};

const QUIET_BASE: &str = "27092";

fn doctor(path: Option<&std::ffi::OsStr>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .arg("doctor")
        .env("KAFKA_PORT_BASE", QUIET_BASE)
        .env_remove("JAVA_HOME");
    if let Some(path) = path {
        command.env("PATH", path);
    }
    command.output().expect("run cargo xtask doctor")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn doctor_passes_on_a_machine_that_has_everything() {
    let output = doctor(None);
    let text = text(&output);
    assert!(output.status.success(), "doctor failed here:\n{text}");
    assert!(text.contains("doctor: ready"), "{text}");
    for item in [
        "Rust 1.",
        "Java 17+",
        "Go 1.23+",
        "ports (base 27092)",
        "disk space",
    ] {
        assert!(text.contains(item), "no {item:?} check:\n{text}");
    }
}

/// A `PATH` with every program of the real one except `java`: a directory of
/// symlinks, first occurrence of each name wins (as the shell would pick).
fn path_without_java() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("doctor-no-java-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = std::env::var_os("PATH").expect("PATH");
    for entry_dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&entry_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = dir.join(&name);
            if name == "java" || link.exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(entry.path(), link);
        }
    }
    dir
}

#[test]
fn doctor_fails_with_the_fix_when_java_is_hidden() {
    let dir = path_without_java();
    let output = doctor(Some(dir.as_os_str()));
    let _ = std::fs::remove_dir_all(&dir);
    let text = text(&output);
    assert_eq!(output.status.code(), Some(1), "doctor should fail:\n{text}");
    let java = text
        .lines()
        .skip_while(|l| !l.contains("Java 17+"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        java.contains("[MISS]"),
        "Java not reported missing:\n{text}"
    );
    assert!(
        java.contains("fix: sudo apt-get install openjdk-17-jre-headless"),
        "no fixing command for Java:\n{text}"
    );
    assert!(text.contains("required item(s) missing"), "{text}");
}

//! `cargo xtask doctor`: is this machine ready for the tutorial (or a
//! workshop)? Checks every tool, port and cache the project needs and prints,
//! for each miss, the one command that fixes it. Exits non-zero when
//! something required is missing; optional items only warn.
//!
//! It changes nothing: no installs, no downloads, no broker started.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, ExitCode};

use anyhow::Result;
use clap::Args;

use crate::{book, kafka, paths};

#[derive(Debug, Args)]
pub struct DoctorArgs {}

/// Free disk space below which the chapters' debug builds will not fit.
const DISK_REQUIRED_GB: u64 = 10;
/// What `cargo xtask test` needs: its target dir measured 27 GB on this
/// project's CI machine (every chapter, the labs, the quickstart).
const DISK_FULL_TEST_GB: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    /// Optional: a warning, the exit code stays 0.
    Warn,
    /// Required: the exit code becomes 1.
    Missing,
}

#[derive(Debug)]
struct Check {
    name: String,
    level: Level,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            level: Level::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn miss(
        name: impl Into<String>,
        required: bool,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name: name.into(),
            level: if required {
                Level::Missing
            } else {
                Level::Warn
            },
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

pub fn run(_args: &DoctorArgs) -> Result<ExitCode> {
    let mut checks = Vec::new();
    checks.extend(rust());
    checks.extend(c_toolchain());
    checks.push(java());
    checks.push(maven());
    checks.push(go());
    checks.push(python());
    checks.extend(ports());
    checks.push(disk());
    checks.extend(caches());
    checks.extend(optional_tools());

    println!("cargo xtask doctor: is this machine ready for the tutorial?\n");
    for check in &checks {
        let mark = match check.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Missing => "MISS",
        };
        println!("  [{mark}] {:<34} {}", check.name, check.detail);
        if let Some(fix) = &check.fix {
            println!("         {:<34} fix: {fix}", "");
        }
    }
    let missing = checks.iter().filter(|c| c.level == Level::Missing).count();
    let warnings = checks.iter().filter(|c| c.level == Level::Warn).count();
    println!();
    if missing == 0 {
        println!(
            "doctor: ready ({} checks, {warnings} optional warning(s)). Next: `cargo xtask kafka up`, \
             then `cargo run -p ch01-architecture`.",
            checks.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "doctor: {missing} required item(s) missing — run the `fix:` command shown for each, \
             then `cargo xtask doctor` again."
        );
        Ok(ExitCode::FAILURE)
    }
}

/// The first line a command prints (stdout, else stderr), if it runs at all.
fn version_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    let text = strip_ansi(&String::from_utf8_lossy(&text));
    text.lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|_| output.status.success())
}

/// Drops terminal colour codes (`ESC [ ... m`), which Maven prints even
/// with `-B` on some versions.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `major.minor` out of the first `N.N` in `text` (after `prefix` if given).
fn major_minor(text: &str, prefix: &str) -> Option<(u32, u32)> {
    let start = text.find(prefix)? + prefix.len();
    let mut parts = text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The workspace's `rust-version` (the MSRV every crate declares).
fn rust_version() -> (u32, u32) {
    std::fs::read_to_string(paths::workspace().join("Cargo.toml"))
        .ok()
        .and_then(|toml| {
            let line = toml.lines().find(|l| l.starts_with("rust-version"))?;
            major_minor(line, "\"")
        })
        .unwrap_or((1, 88))
}

fn rust() -> Vec<Check> {
    let (major, minor) = rust_version();
    let wanted = format!("Rust {major}.{minor}+");
    let mut checks = vec![match version_of("rustc", &["--version"]) {
        Some(v) if major_minor(&v, "rustc ").is_some_and(|found| found >= (major, minor)) => {
            Check::ok(&wanted, v)
        }
        Some(v) => Check::miss(
            &wanted,
            true,
            format!("{v} is too old"),
            "rustup update stable",
        ),
        None => Check::miss(
            &wanted,
            true,
            "rustc not found",
            "curl --proto '=https' -sSf https://sh.rustup.rs | sh",
        ),
    }];
    let installed = version_of("rustup", &["component", "list", "--installed"])
        .map(|_| {
            Command::new("rustup")
                .args(["component", "list", "--installed"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    for component in ["rustfmt", "clippy"] {
        let name = format!("rustup component {component}");
        checks.push(if installed.lines().any(|l| l.starts_with(component)) {
            Check::ok(name, "installed")
        } else {
            Check::miss(
                name,
                true,
                "not installed (cargo xtask test runs it)",
                format!("rustup component add {component}"),
            )
        });
    }
    checks
}

/// What rdkafka-sys needs to build librdkafka from source.
fn c_toolchain() -> Vec<Check> {
    let mut checks = Vec::new();
    for (program, package) in [
        ("cc", "build-essential"),
        ("make", "make"),
        ("perl", "perl"),
        ("pkg-config", "pkg-config"),
    ] {
        let name = format!("{program} (builds librdkafka)");
        checks.push(match which(program) {
            Some(path) => Check::ok(name, path),
            None => Check::miss(
                name,
                true,
                "not found",
                format!("sudo apt-get install {package}"),
            ),
        });
    }
    let zlib = Path::new("/usr/include/zlib.h");
    checks.push(if zlib.exists() {
        Check::ok("zlib headers", zlib.display().to_string())
    } else {
        Check::miss(
            "zlib headers",
            true,
            "/usr/include/zlib.h not found",
            "sudo apt-get install zlib1g-dev",
        )
    });
    // rdkafka's `ssl` feature (四.6) links the system's OpenSSL.
    let openssl = Path::new("/usr/include/openssl/ssl.h");
    checks.push(if openssl.exists() {
        Check::ok("OpenSSL headers", openssl.display().to_string())
    } else {
        Check::miss(
            "OpenSSL headers",
            true,
            "/usr/include/openssl/ssl.h not found",
            "sudo apt-get install libssl-dev",
        )
    });
    checks
}

fn java() -> Check {
    match kafka_layout::java() {
        Ok(path) => Check::ok(
            "Java 17+ (runs Kafka)",
            version_of(&path.to_string_lossy(), &["-version"])
                .unwrap_or_else(|| path.display().to_string()),
        ),
        Err(error) => Check::miss(
            "Java 17+ (runs Kafka)",
            true,
            error.to_string(),
            "sudo apt-get install openjdk-17-jre-headless (or set JAVA_HOME to a JDK 17+)",
        ),
    }
}

/// Maven fetches the Kafka jars once; with them cached it is not needed.
fn maven() -> Check {
    let cached = kafka_layout::jars_present();
    match version_of("mvn", &["-B", "-v"]) {
        Some(v) => Check::ok("Maven (fetches Kafka jars)", v),
        None if cached => Check::ok(
            "Maven (fetches Kafka jars)",
            "not found, not needed: the Kafka jars are cached",
        ),
        None => Check::miss(
            "Maven (fetches Kafka jars)",
            true,
            "mvn not found and the Kafka jars are not cached yet",
            "sudo apt-get install maven",
        ),
    }
}

fn go() -> Check {
    const NAME: &str = "Go 1.23+ (kafka-go peers)";
    const FIX: &str = "install Go 1.23+ from https://go.dev/dl";
    match version_of("go", &["version"]) {
        Some(v) if major_minor(&v, "go version go").is_some_and(|found| found >= (1, 23)) => {
            Check::ok(NAME, v)
        }
        Some(v) => Check::miss(NAME, true, format!("{v} is too old"), FIX),
        None => Check::miss(NAME, true, "go not found", FIX),
    }
}

fn python() -> Check {
    const NAME: &str = "Python 3 + venv (四.1/四.2)";
    let Some(version) = version_of("python3", &["--version"]) else {
        return Check::miss(
            NAME,
            true,
            "python3 not found",
            "sudo apt-get install python3 python3-venv",
        );
    };
    let venv = Command::new("python3")
        .args(["-c", "import ensurepip, venv"])
        .output()
        .is_ok_and(|o| o.status.success());
    if venv {
        Check::ok(NAME, version)
    } else {
        Check::miss(
            NAME,
            true,
            format!("{version} without the venv module"),
            "sudo apt-get install python3-venv",
        )
    }
}

/// Every port of the one list, free — or held by the cluster `cargo xtask
/// kafka up` started here (that is fine).
fn ports() -> Vec<Check> {
    use kafka_layout::ports;
    let ours = kafka::ours_alive();
    let mut all: Vec<(u16, String)> = ports::every_port(ports::MAX_NODES)
        .into_iter()
        .map(|(node, purpose, port)| (port, format!("node {node} {}", purpose.label())))
        .collect();
    all.extend(
        ports::single()
            .into_iter()
            .map(|(p, what)| (p, what.to_string())),
    );
    let busy: Vec<&(u16, String)> = all
        .iter()
        .filter(|(port, _)| TcpListener::bind(("127.0.0.1", *port)).is_err())
        .collect();
    let name = format!("ports (base {})", ports::base());
    if busy.is_empty() {
        return vec![Check::ok(name, format!("all {} free", all.len()))];
    }
    busy.into_iter()
        .map(|(port, what)| {
            let ours_holds_it = ours.is_some_and(|nodes| {
                ports::every_port(nodes)
                    .iter()
                    .any(|(_, p, n)| n == port && p.bound_by_broker())
            });
            if ours_holds_it {
                Check::ok(
                    format!("port {port}"),
                    format!("{what}: held by the cluster cargo xtask started (fine)"),
                )
            } else {
                Check::miss(
                    format!("port {port}"),
                    true,
                    format!("{what}: in use by another program"),
                    format!(
                        "see who holds it: `ss -ltnp 'sport = :{port}'` — stop it, or run everything \
                         with another port base, e.g. `export KAFKA_PORT_BASE=19092`"
                    ),
                )
            }
        })
        .collect()
}

/// Free space where the build goes, from `df` (POSIX output, 1K blocks).
fn disk() -> Check {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .filter(|p| p.exists())
        .unwrap_or_else(paths::workspace);
    let free_gb = Command::new("df")
        .args(["-Pk"])
        .arg(&dir)
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let line = text.lines().nth(1)?.to_string();
            line.split_whitespace().nth(3)?.parse::<u64>().ok()
        })
        .map(|kb| kb / (1024 * 1024));
    let name = "disk space (builds)";
    match free_gb {
        Some(gb) if gb < DISK_REQUIRED_GB => Check::miss(
            name,
            true,
            format!("{gb} GB free under {}", dir.display()),
            format!(
                "free at least {DISK_REQUIRED_GB} GB (or point CARGO_TARGET_DIR to a larger disk)"
            ),
        ),
        Some(gb) if gb < DISK_FULL_TEST_GB => Check::miss(
            name,
            false,
            format!(
                "{gb} GB free: enough for the chapters, not for the full `cargo xtask test` \
                 (~27 GB of build output)"
            ),
            format!("free {DISK_FULL_TEST_GB} GB before running `cargo xtask test`"),
        ),
        Some(gb) => Check::ok(name, format!("{gb} GB free under {}", dir.display())),
        None => Check::miss(
            name,
            false,
            "could not read free space (`df -Pk` failed)",
            "check by hand: `df -h .`",
        ),
    }
}

/// What a room without Wi-Fi needs already downloaded (warnings only).
fn caches() -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(if kafka_layout::jars_present() {
        Check::ok(
            "cache: Kafka jars",
            kafka_layout::libs_dir().display().to_string(),
        )
    } else {
        Check::miss(
            "cache: Kafka jars",
            false,
            "not fetched yet (needs Maven Central once)",
            "cargo xtask kafka up",
        )
    });
    let crates = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["fetch", "--offline", "--locked", "--quiet"])
        .current_dir(paths::workspace())
        .output()
        .is_ok_and(|o| o.status.success());
    checks.push(if crates {
        Check::ok("cache: crates", "every crate of Cargo.lock is downloaded")
    } else {
        Check::miss(
            "cache: crates",
            false,
            "some crates are not downloaded yet",
            "cargo fetch --locked",
        )
    });
    checks.push(if book::mdbook_installed() {
        Check::ok("cache: mdbook", "installed in the tool cache")
    } else {
        Check::miss(
            "cache: mdbook",
            false,
            "not installed yet (the book needs it)",
            "cargo xtask book",
        )
    });
    checks
}

fn optional_tools() -> Vec<Check> {
    vec![match which("chromium") {
        Some(path) => Check::ok("chromium (book browser check)", path),
        None => Check::miss(
            "chromium (book browser check)",
            false,
            "not found (only `cargo xtask book --browser-check` needs it)",
            "sudo apt-get install chromium",
        ),
    }]
}

/// The full path of `program` on `PATH`, if any.
fn which(program: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .map(|p| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read() {
        assert_eq!(
            major_minor("rustc 1.95.0 (59807616e 2026-04-14)", "rustc "),
            Some((1, 95))
        );
        assert_eq!(
            major_minor("go version go1.26.8 linux/amd64", "go version go"),
            Some((1, 26))
        );
        assert_eq!(major_minor("rust-version = \"1.88\"", "\""), Some((1, 88)));
        assert_eq!(major_minor("no digits", ""), None);
        assert_eq!(
            strip_ansi("\u{1b}[1mApache Maven\u{1b}[0m 3.8.7"),
            "Apache Maven 3.8.7"
        );
    }
}

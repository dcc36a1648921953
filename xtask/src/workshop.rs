//! `cargo xtask workshop`: the offline room kit.
//!
//! Conference Wi-Fi is the classic workshop failure. `prepare` fetches once,
//! while the network is there, everything the course downloads on first
//! use; `offline` then proves the course runs without any network at all:
//! it re-runs itself inside a new network namespace (`unshare -n`: only a
//! loopback interface, no route out) with every tool told to stay offline,
//! starts its own broker there, and runs the tour and the exercise proof
//! (`--full`: the whole test command first, then the tour; CI runs that).
//!
//! What is fetched, and where it goes:
//! - every crate of both lock files (the workspace and the quickstart's):
//!   `cargo fetch --locked` → `~/.cargo/registry`;
//! - the Kafka jars (Maven Central) → the tutorial cache;
//! - mdbook (built from crates.io) → the tutorial cache's `tools/`;
//! - every Go module the peers use: `go mod download` → `GOMODCACHE`;
//! - the Python wheels of 四.1/四.2's interop drills: `pip download` → the
//!   tutorial cache's `wheels/` (offline, pip reads them through
//!   `PIP_NO_INDEX`/`PIP_FIND_LINKS`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use crate::{book, kafka, paths};

#[derive(Debug, Subcommand)]
pub enum WorkshopCommand {
    /// Fetch everything the course needs once (crates, Kafka jars, mdbook, Go modules, Python wheels)
    Prepare,
    /// Prove the course runs with no network: the tour and the exercise proof inside `unshare -n`
    Offline(OfflineArgs),
    /// (internal) what `offline` runs inside the namespace
    #[command(hide = true)]
    OfflineInner(OfflineArgs),
}

#[derive(Debug, Clone, Copy, clap::Args)]
pub struct OfflineArgs {
    /// Run the whole test command (`cargo xtask test`, which includes the
    /// exercise proof) instead of only the exercise proof, then the tour
    #[arg(long)]
    full: bool,
}

/// The broker of the offline proof gets its own ports and data, so it never
/// meets a tutorial broker of this checkout (its pid files would).
const OFFLINE_PORT_BASE: &str = "29092";

pub fn run(command: WorkshopCommand) -> Result<ExitCode> {
    match command {
        WorkshopCommand::Prepare => prepare(),
        WorkshopCommand::Offline(args) => offline(args),
        WorkshopCommand::OfflineInner(args) => offline_inner(args),
    }
}

/// Where `pip download` puts the wheels.
pub fn wheels_dir() -> PathBuf {
    paths::cache().join("wheels")
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn step(name: &str, mut command: Command) -> Result<()> {
    let started = Instant::now();
    println!("==> {name}");
    let status = command
        .status()
        .with_context(|| format!("{name}: cannot run {command:?}"))?;
    if !status.success() {
        bail!("{name} failed ({status}): {command:?}");
    }
    println!("    done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Every directory with a `go.mod` one level inside a chapter or a lab
/// (`chapters/ch02-balancers/go`, `labs/bench/go`, ...).
pub fn go_modules() -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for top in ["chapters", "labs"] {
        for crate_dir in std::fs::read_dir(paths::workspace().join(top))? {
            let crate_dir = crate_dir?.path();
            if !crate_dir.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&crate_dir)? {
                let dir = entry?.path();
                if dir.join("go.mod").exists() {
                    found.push(dir);
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

/// The newest `go` directive among the project's modules: the Go a
/// machine needs (the bench's module asks for 1.26 for franz-go, the
/// chapters' kafka-go modules for 1.23).
pub fn go_minimum() -> Result<(u32, u32)> {
    let mut newest = (0, 0);
    for dir in go_modules()? {
        let text = std::fs::read_to_string(dir.join("go.mod"))?;
        let version = text
            .lines()
            .find_map(|line| line.strip_prefix("go "))
            .and_then(|v| {
                let mut parts = v.trim().split('.');
                Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
            })
            .with_context(|| format!("{}/go.mod has no `go 1.N` line", dir.display()))?;
        newest = newest.max(version);
    }
    Ok(newest)
}

fn du(path: &Path) -> String {
    Command::new("du")
        .args(["-sh"])
        .arg(path)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into())
}

fn prepare() -> Result<ExitCode> {
    let started = Instant::now();
    let workspace = paths::workspace();

    let mut fetch = cargo();
    fetch.args(["fetch", "--locked"]).current_dir(&workspace);
    step("crates of the workspace (cargo fetch)", fetch)?;
    let mut fetch = cargo();
    fetch
        .args(["fetch", "--locked", "--manifest-path"])
        .arg(workspace.join("chapters/ch00-quickstart/Cargo.toml"));
    step("crates of the quickstart (cargo fetch)", fetch)?;

    println!("==> Kafka jars");
    let libs = kafka::ensure_jars()?;
    println!("    {}", libs.display());

    println!("==> mdbook");
    let mdbook = book::mdbook()?;
    println!("    {}", mdbook.display());

    for dir in go_modules()? {
        let mut download = Command::new("go");
        download.args(["mod", "download"]).current_dir(&dir);
        step(
            &format!(
                "Go modules of {}",
                dir.strip_prefix(&workspace).unwrap_or(&dir).display()
            ),
            download,
        )?;
    }

    // A throwaway venv gives a pip that matches the python3 the labs use.
    let venv = paths::cache().join("wheels-venv");
    if !venv.join("bin/python").exists() {
        let mut create = Command::new("python3");
        create.args(["-m", "venv"]).arg(&venv);
        step("a venv for pip download", create)?;
    }
    let mut download = Command::new(venv.join("bin/python"));
    download
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(workspace.join("chapters/ch04-serialization/python/requirements.txt"))
        .arg("-d")
        .arg(wheels_dir());
    step("Python wheels of 四.1/四.2 (pip download)", download)?;

    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    let gomodcache = Command::new("go")
        .args(["env", "GOMODCACHE"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default();
    println!(
        "\nworkshop prepare: done in {:.0} s. Cached: crates {} ({}), tutorial cache {} ({}), \
         Go modules {} ({}).\nNext: `cargo xtask workshop offline` proves the course runs without \
         network.",
        started.elapsed().as_secs_f64(),
        du(&cargo_home.join("registry")),
        cargo_home.join("registry").display(),
        du(&paths::cache()),
        paths::cache().display(),
        du(&gomodcache),
        gomodcache.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Re-runs `cargo xtask workshop offline-inner` in a new network namespace
/// with only loopback (brought up: Kafka and the clients talk over it).
fn offline(args: OfflineArgs) -> Result<ExitCode> {
    if !kafka_layout::jars_present() || !book::mdbook_installed() {
        bail!("nothing prepared yet: run `cargo xtask workshop prepare` first (with network)");
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut command = Command::new("unshare");
    // As root, a plain network namespace; otherwise a user namespace too
    // (`-r` maps us to root inside it, which `ip link set lo up` needs).
    command.arg(if root { "-n" } else { "-rn" });
    command.args(["sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""]);
    command.arg(std::env::current_exe()?);
    command.args(["workshop", "offline-inner"]);
    if args.full {
        command.arg("--full");
    }
    command.current_dir(paths::workspace());
    println!(
        "==> a network namespace with loopback only (unshare {}): {}",
        if root { "-n" } else { "-rn" },
        what(args)
    );
    let status = command
        .status()
        .context("cannot run `unshare` (util-linux): the offline proof needs network namespaces")?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn what(args: OfflineArgs) -> &'static str {
    if args.full {
        "the whole test command, then the tour"
    } else {
        "the tour and the exercise proof"
    }
}

/// Inside the namespace: offline settings for every tool, our own broker,
/// the tour, the exercises (or the whole test command), and the broker
/// stopped whatever happened.
fn offline_inner(args: OfflineArgs) -> Result<ExitCode> {
    let reachable = Command::new("sh")
        .args([
            "-c",
            "getent hosts crates.io >/dev/null 2>&1 || ip route get 1.1.1.1 >/dev/null 2>&1",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if reachable {
        bail!("the network is reachable inside the namespace: this would prove nothing");
    }
    println!("    no route out, no DNS: offline for real");
    let xtask = std::env::current_exe()?;
    let run = |args: &[&str]| -> Result<bool> {
        let started = Instant::now();
        println!("\n==> offline: cargo xtask {}", args.join(" "));
        let status = Command::new(&xtask)
            .args(args)
            .env("KAFKA_PORT_BASE", OFFLINE_PORT_BASE)
            .env_remove("KAFKA_BROKERS")
            .env("CARGO_NET_OFFLINE", "true")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("PIP_NO_INDEX", "1")
            .env("PIP_FIND_LINKS", wheels_dir())
            .current_dir(paths::workspace())
            .status()?;
        println!(
            "    {} in {:.0} s",
            if status.success() { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        Ok(status.success())
    };
    // The test command and the tour start (and stop) the brokers they need.
    let mut ok = true;
    if args.full {
        ok &= run(&["test"])?;
    }
    ok &= run(&["tour"])?;
    if !args.full {
        // The plain broker for most exercises, the secured node for 四.6's.
        if run(&["kafka", "up"])? && run(&["kafka", "up", "--secure"])? {
            ok &= run(&["exercise", "verify"])?;
        } else {
            ok = false;
        }
        let _ = run(&["kafka", "down", "--secure"]);
        let _ = run(&["kafka", "down"]);
    }
    println!(
        "\nworkshop offline: {}",
        if ok {
            if args.full {
                "every test, every exercise and the tour ran with no network"
            } else {
                "the tour and every exercise ran with no network"
            }
        } else {
            "FAILED (see above)"
        }
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

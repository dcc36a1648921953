//! The quickstart's proof, run by `cargo xtask test` while the one-broker
//! cluster is up: do what a reader of the quickstart page does and check
//! that it works.
//!
//! 1. The page includes every file of `chapters/ch00-quickstart` (so a reader
//!    who copies what the page shows has the whole project).
//! 2. Those files, copied into a fresh directory outside the workspace, are
//!    rustfmt-clean and build with `cargo build --locked` (so the committed
//!    Cargo.lock is complete). The build shares the workspace's target
//!    directory: librdkafka is already compiled there, so this takes seconds,
//!    not minutes.
//! 3. The producer delivers its records, the consumer prints every one of
//!    them (a topic of its own per run, through `QUICKSTART_TOPIC`).
//! 4. Without a broker, both programs fail within seconds with a message that
//!    names the address and how to start a broker, not a panic.
//!
//! Every run of the two programs is bounded; each check counts as one test.
//! The run's topic is deleted afterwards (best effort, with Kafka's own tool).

use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::paths;

/// The quickstart project, relative to the workspace.
pub const DIR: &str = "chapters/ch00-quickstart";
/// The book page that shows it.
const PAGE: &str = "book/src/quickstart.md";
/// Generous bounds: the consumer alone waits 10 s for more records.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// The programs promise an error in about 10 s when no broker answers.
const NO_BROKER_LIMIT: Duration = Duration::from_secs(20);
/// A port nothing listens on.
const NO_BROKER: &str = "localhost:1";

/// One check: a name, whether it passed, and why not.
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub note: String,
}

impl Check {
    fn new(name: &'static str, result: Result<()>) -> Check {
        let (ok, note) = match result {
            Ok(()) => (true, String::new()),
            Err(error) => (false, format!("{error:#}")),
        };
        println!("    {} {name}", if ok { "ok  " } else { "FAIL" });
        if !note.is_empty() {
            println!("         {}", note.replace('\n', "\n         "));
        }
        Check { name, ok, note }
    }
}

/// What `checks` found, plus how long the build took.
pub struct Report {
    pub checks: Vec<Check>,
    pub build_time: Option<Duration>,
}

/// Runs every check against `bootstrap`. A check that cannot run because an
/// earlier one failed fails too, so the count of checks is always the same.
pub fn checks(bootstrap: &str) -> Report {
    let mut checks = Vec::new();
    let files = page_files();
    checks.push(Check::new(
        "quickstart page shows every file of the project",
        files.as_ref().map_err(clone_error).and_then(same_files),
    ));
    let project = files.and_then(|f| fresh_copy(&f));
    checks.push(Check::new(
        "quickstart files are rustfmt-clean",
        project
            .as_ref()
            .map_err(clone_error)
            .and_then(|dir| fmt_check(dir)),
    ));
    let build = project.and_then(|dir| build(&dir));
    let build_time = build.as_ref().ok().map(|(_, elapsed)| *elapsed);
    checks.push(Check::new(
        "quickstart builds with --locked outside the workspace",
        build.as_ref().map(|_| ()).map_err(clone_error),
    ));
    let bin = build.map(|(bin, _)| bin);
    // The runs without a broker wait about 10 s each, so they run alongside
    // the round trip on the real broker.
    let results: [Result<()>; 4] = match &bin {
        Ok(bin) => std::thread::scope(|s| {
            let producer = s.spawn(|| fails_clearly(bin, "producer"));
            let consumer = s.spawn(|| fails_clearly(bin, "consumer"));
            let (sent, received) = round_trip(bin, bootstrap);
            [sent, received, join(producer), join(consumer)]
        }),
        Err(e) => std::array::from_fn(|_| Err(clone_error(e))),
    };
    let names = [
        "quickstart producer delivers its records",
        "quickstart consumer prints every record the producer sent",
        "quickstart producer without a broker: clear error in seconds",
        "quickstart consumer without a broker: clear error in seconds",
    ];
    for (name, result) in names.into_iter().zip(results) {
        checks.push(Check::new(name, result));
    }
    Report { checks, build_time }
}

/// The producer, then the consumer, on a topic of this run's own: did the
/// producer deliver, and did the consumer print every record it delivered?
fn round_trip(bin: &Path, bootstrap: &str) -> (Result<()>, Result<()>) {
    let topic = format!("quickstart-{}", unique_suffix());
    let sent = run_bounded(program(bin, "producer", bootstrap, &topic), RUN_LIMIT)
        .and_then(|run| {
            run.succeeded()?;
            let sent = records(&run.stdout, "sent");
            if sent.is_empty() {
                bail!("printed no `sent` line:\n{}", run.transcript());
            }
            Ok(sent)
        })
        .context("producer");
    match sent {
        Ok(sent) => {
            let received = consumer_saw_all(bin, bootstrap, &topic, sent);
            delete_topic(bootstrap, &topic);
            (Ok(()), received)
        }
        Err(error) => {
            let not_run = clone_error(&error);
            (Err(error), Err(not_run))
        }
    }
}

/// Removes this run's topic with Kafka's own tool, best effort: a leftover
/// topic harms nothing, so failing to delete it is only a warning.
fn delete_topic(bootstrap: &str, topic: &str) {
    let deleted = kafka_layout::tool_command("topics")
        .map_err(anyhow::Error::from)
        .and_then(|mut command| {
            command.args([
                "--bootstrap-server",
                bootstrap,
                "--delete",
                "--topic",
                topic,
            ]);
            run_bounded(command, Duration::from_secs(30))?.succeeded()
        });
    if let Err(error) = deleted {
        let first_line = format!("{error:#}");
        let first_line = first_line.lines().next().unwrap_or_default();
        println!("    warning: topic {topic} left on the broker ({first_line})");
    }
}

/// `anyhow::Error` is not `Clone`; a failed step is reported again, as text,
/// by the checks that depend on it.
fn clone_error(error: &anyhow::Error) -> anyhow::Error {
    let first_line = format!("{error:#}");
    let first_line = first_line.lines().next().unwrap_or_default();
    anyhow::anyhow!("not run: an earlier step failed ({first_line})")
}

fn join(handle: std::thread::ScopedJoinHandle<'_, Result<()>>) -> Result<()> {
    handle
        .join()
        .unwrap_or_else(|_| bail!("the check's thread panicked"))
}

/// The files the page includes from the quickstart, relative to its directory.
fn page_files() -> Result<BTreeSet<String>> {
    let page = std::fs::read_to_string(paths::workspace().join(PAGE))
        .with_context(|| format!("reading {PAGE}"))?;
    let prefix = format!("{{{{#include ../../{DIR}/");
    let files: BTreeSet<String> = page
        .match_indices(&prefix)
        .filter_map(|(at, _)| {
            let rest = &page[at + prefix.len()..];
            let end = rest.find("}}")?;
            // `path:anchor` or `path:from:to` select part of a file.
            let path = rest[..end].split(':').next()?;
            Some(path.trim().to_string())
        })
        .collect();
    if files.is_empty() {
        bail!("{PAGE} includes no file of {DIR}");
    }
    Ok(files)
}

/// The page must show the whole project: every file of it, nothing else.
fn same_files(shown: &BTreeSet<String>) -> Result<()> {
    let root = paths::workspace().join(DIR);
    let mut on_disk = BTreeSet::new();
    collect_files(&root, &root, &mut on_disk)?;
    if &on_disk != shown {
        bail!(
            "{DIR} has {:?}, {PAGE} includes {:?}",
            on_disk.difference(shown).collect::<Vec<_>>(),
            shown.difference(&on_disk).collect::<Vec<_>>()
        );
    }
    Ok(())
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeSet<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        // A reader's own `cargo run` there makes target/; it is not a source.
        if path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.insert(relative.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// Copies the page's files into a fresh project directory outside the
/// workspace (cargo would otherwise take it for a workspace member). The
/// directory's name is fixed per target directory, so the build artifacts of
/// the copy are replaced on each run instead of piling up.
fn fresh_copy(files: &BTreeSet<String>) -> Result<PathBuf> {
    let mut hasher = DefaultHasher::new();
    target_dir().hash(&mut hasher);
    let dir = std::env::temp_dir().join(format!("kafka-quickstart-{:016x}", hasher.finish()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let source = paths::workspace().join(DIR);
    for file in files {
        let to = dir.join(file);
        std::fs::create_dir_all(to.parent().context("a file has a parent")?)?;
        std::fs::copy(source.join(file), &to)
            .with_context(|| format!("copying {DIR}/{file} to {}", to.display()))?;
    }
    println!("    fresh copy of the page's files: {}", dir.display());
    Ok(dir)
}

/// The workspace's target directory, where librdkafka is already built.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| paths::workspace().join("target"))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn fmt_check(dir: &Path) -> Result<()> {
    let mut command = cargo();
    command.args(["fmt", "--check"]).current_dir(dir);
    run_bounded(command, RUN_LIMIT)?.succeeded()
}

/// `cargo build --locked` in the copy, sharing the workspace's target
/// directory; returns where the binaries are and how long it took.
fn build(dir: &Path) -> Result<(PathBuf, Duration)> {
    let target = target_dir();
    println!(
        "    cargo build --locked in {} (CARGO_TARGET_DIR={})",
        dir.display(),
        target.display()
    );
    let started = Instant::now();
    let status = cargo()
        .args(["build", "--locked"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .context("running cargo build")?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!("cargo build --locked exited with {status}");
    }
    println!("    built in {:.1} s", elapsed.as_secs_f64());
    Ok((target.join("debug"), elapsed))
}

fn program(bin: &Path, name: &str, brokers: &str, topic: &str) -> Command {
    let mut command = Command::new(bin.join(name));
    command
        .env("KAFKA_BROKERS", brokers)
        .env("QUICKSTART_TOPIC", topic);
    command
}

/// A record as both programs print it: `key=… value=… partition=… offset=…`.
type Record = (String, String, String, String);

/// The records on the lines of `output` that start with `verb`.
fn records(output: &str, verb: &str) -> Vec<Record> {
    output
        .lines()
        .filter(|line| line.split_whitespace().next() == Some(verb))
        .filter_map(|line| {
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|word| word.strip_prefix(name)?.strip_prefix('='))
                    .map(str::to_string)
            };
            Some((
                field("key")?,
                field("value")?,
                field("partition")?,
                field("offset")?,
            ))
        })
        .collect()
}

fn consumer_saw_all(bin: &Path, bootstrap: &str, topic: &str, sent: Vec<Record>) -> Result<()> {
    let run =
        run_bounded(program(bin, "consumer", bootstrap, topic), RUN_LIMIT).context("consumer")?;
    run.succeeded().context("consumer")?;
    let missing = not_received(&sent, &run.stdout);
    if !missing.is_empty() {
        bail!(
            "{} of {} records sent were not printed by the consumer: {missing:?}\n{}",
            missing.len(),
            sent.len(),
            run.transcript()
        );
    }
    Ok(())
}

/// The records of `sent` that the consumer's `output` does not show.
fn not_received<'a>(sent: &'a [Record], output: &str) -> Vec<&'a Record> {
    let received: BTreeSet<Record> = records(output, "received").into_iter().collect();
    sent.iter().filter(|r| !received.contains(r)).collect()
}

/// With no broker at `NO_BROKER`, `name` must exit non-zero in time, say
/// where it looked and how to start a broker, and not panic.
fn fails_clearly(bin: &Path, name: &str) -> Result<()> {
    let run = run_bounded(program(bin, name, NO_BROKER, "quickstart"), NO_BROKER_LIMIT)?;
    let output = run.transcript();
    match run.status {
        None => bail!("{name} still ran after {NO_BROKER_LIMIT:?}:\n{output}"),
        Some(status) if status.success() => bail!("{name} exited 0 without a broker:\n{output}"),
        Some(_) => {}
    }
    for needle in [NO_BROKER, "cargo xtask kafka up", "docker compose up -d"] {
        if !run.stderr.contains(needle) {
            bail!("{name}'s error does not mention {needle:?}:\n{output}");
        }
    }
    if output.contains("panicked") {
        bail!("{name} panicked instead of explaining:\n{output}");
    }
    Ok(())
}

/// What a bounded run produced; `status` is `None` when it was killed.
struct Run {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn transcript(&self) -> String {
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }

    fn succeeded(&self) -> Result<()> {
        match self.status {
            Some(status) if status.success() => Ok(()),
            Some(status) => bail!("exited with {status}\n{}", self.transcript()),
            None => bail!(
                "killed after {:.0} s\n{}",
                self.elapsed.as_secs_f64(),
                self.transcript()
            ),
        }
    }
}

/// Runs `command` and kills it once `limit` has passed. Its output is
/// echoed, indented, when it ends.
fn run_bounded(mut command: Command, limit: Duration) -> Result<Run> {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {command:?}"))?;
    // Read both pipes on their own threads: a child blocked on a full pipe
    // would otherwise never exit.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > limit {
            child.kill()?;
            child.wait()?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = Run {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        elapsed: started.elapsed(),
    };
    // One print per run: runs on other threads must not interleave with it.
    let env: String = command
        .get_envs()
        .filter_map(|(name, value)| Some(format!("{}={} ", name.to_str()?, value?.to_str()?)))
        .collect();
    let mut echo = format!(
        "    $ {env}{} ({:.1} s)\n",
        command.get_program().to_string_lossy(),
        run.elapsed.as_secs_f64()
    );
    for line in run.stdout.lines().chain(run.stderr.lines()) {
        echo.push_str(&format!("      {line}\n"));
    }
    print!("{echo}");
    Ok(run)
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// Unique enough for a topic name: this process and the current time.
fn unique_suffix() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{}-{millis}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_lines_both_programs_print() {
        let out = "sent     key=user-1 value=signed-up partition=2 offset=0\n\
                   received key=user-1 value=signed-up partition=2 offset=0\n\
                   no new records for 10 s: stopping\n";
        let record = (
            "user-1".to_string(),
            "signed-up".to_string(),
            "2".to_string(),
            "0".to_string(),
        );
        assert_eq!(records(out, "sent"), vec![record.clone()]);
        assert_eq!(records(out, "received"), vec![record]);
        assert!(records("sent nothing", "sent").is_empty());
    }

    #[test]
    fn a_record_the_consumer_did_not_print_is_missing() {
        let sent = records(
            "sent key=a value=x partition=0 offset=0\nsent key=b value=y partition=1 offset=0\n",
            "sent",
        );
        let all = "received key=b value=y partition=1 offset=0\n\
                   received key=a value=x partition=0 offset=0\n";
        assert!(not_received(&sent, all).is_empty());
        let one_short = "received key=b value=y partition=1 offset=0\n";
        assert_eq!(not_received(&sent, one_short), vec![&sent[0]]);
        // Same key and value at another offset is another record.
        let elsewhere = "received key=a value=x partition=0 offset=1\n\
                         received key=b value=y partition=1 offset=0\n";
        assert_eq!(not_received(&sent, elsewhere), vec![&sent[0]]);
    }

    #[test]
    fn the_page_shows_the_whole_quickstart() {
        same_files(&page_files().unwrap()).unwrap();
    }
}

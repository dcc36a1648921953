//! `cargo xtask exercise`: the workshop exercises in `exercises/`.
//!
//! Each exercise is a small crate `exercises/ex-*`: `src/exercise.rs` is the
//! participant's file (a `TODO` where the chapter's Kafka call goes),
//! `tests/check.rs` decides it on the real broker, `hint.md` helps, and
//! `exercises/solutions/<name>.rs` is the reference solution, compiled in
//! place of the participant's file by the crate's `solution` feature.
//!
//! - `list`: every exercise with its chapter and progress (done / to do);
//! - `check <name>`: runs its tests; on failure prints what failed and the hint;
//! - `solve <name>`: puts the solution in place (asks first);
//! - `reset <name>`: puts the shipped exercise back (from git);
//! - `verify`: the CI proof — every exercise fails as shipped and passes with
//!   its solution (the solution is compiled through the feature, so nothing
//!   in the working tree changes).

use std::collections::BTreeMap;
use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::{paths, runner};

#[derive(Debug, Subcommand)]
pub enum ExerciseCommand {
    /// Every exercise, its chapter and your progress
    List,
    /// Run an exercise's tests (a broker must run: `cargo xtask kafka up`); prints the hint on failure
    Check(Name),
    /// Replace your exercise file with the reference solution (asks first)
    Solve(Confirmed),
    /// Put the exercise back as shipped (asks first; needs git)
    Reset(Confirmed),
    /// Prove every exercise fails as shipped and passes with its solution (what CI runs)
    Verify,
}

#[derive(Debug, Args)]
pub struct Name {
    /// The exercise, e.g. ex-queue-full (`cargo xtask exercise list` shows them)
    pub name: String,
}

#[derive(Debug, Args)]
pub struct Confirmed {
    /// The exercise, e.g. ex-queue-full
    pub name: String,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

/// One exercise as found on disk.
#[derive(Debug, Clone)]
pub struct Exercise {
    pub name: String,
    /// "二.2" etc., from the crate's description ("Exercise 二.2: …").
    pub chapter: String,
    pub title: String,
    pub needs: Needs,
}

/// Where an exercise is checked: `needs` under `[package.metadata.exercise]`
/// in its Cargo.toml (absent: the plain broker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The broker of `cargo xtask kafka up` (`KAFKA_BROKERS`).
    Broker,
    /// The secured node of `cargo xtask kafka up --secure` (四.6), found
    /// by the exercise's tests themselves.
    SecuredNode,
}

impl Needs {
    fn parse(manifest: &str, name: &str) -> Result<Needs> {
        match manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix("needs = \""))
            .map(|v| v.trim_end_matches('"'))
        {
            None => Ok(Needs::Broker),
            Some("secured node") => Ok(Needs::SecuredNode),
            Some(other) => bail!(
                "{name}: unknown `needs = \"{other}\"` in Cargo.toml (known: \"secured node\")"
            ),
        }
    }

    /// What a participant starts before `check`.
    pub fn start_command(self) -> &'static str {
        match self {
            Needs::Broker => "cargo xtask kafka up",
            Needs::SecuredNode => "cargo xtask kafka up --secure",
        }
    }
}

impl Exercise {
    fn dir(&self) -> PathBuf {
        exercises_dir().join(&self.name)
    }

    /// The participant's file.
    fn file(&self) -> PathBuf {
        self.dir().join("src").join("exercise.rs")
    }

    fn solution(&self) -> PathBuf {
        exercises_dir()
            .join("solutions")
            .join(format!("{}.rs", self.name))
    }

    fn hint(&self) -> String {
        fs::read_to_string(self.dir().join("hint.md")).unwrap_or_else(|_| "(no hint file)".into())
    }

    /// Where a passed check is remembered, with a hash of the file it passed.
    fn stamp(&self) -> PathBuf {
        paths::workspace()
            .join("target")
            .join("exercises")
            .join(format!("{}.done", self.name))
    }

    fn done(&self) -> bool {
        match (fs::read_to_string(self.stamp()), file_hash(&self.file())) {
            (Ok(stamp), Some(hash)) => stamp.trim() == hash,
            _ => false,
        }
    }
}

fn exercises_dir() -> PathBuf {
    paths::workspace().join("exercises")
}

fn file_hash(path: &PathBuf) -> Option<String> {
    let text = fs::read(path).ok()?;
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    Some(format!("{:016x}", hasher.finish()))
}

/// Every `exercises/ex-*` crate, in book order (二 < 三 < 四 < 五).
pub fn all() -> Result<Vec<Exercise>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(exercises_dir()).context("reading exercises/")? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.starts_with("ex-") {
            continue;
        }
        let manifest = fs::read_to_string(path.join("Cargo.toml"))
            .with_context(|| format!("reading {}/Cargo.toml", path.display()))?;
        let description = manifest
            .lines()
            .find_map(|l| l.strip_prefix("description = \""))
            .map(|d| d.trim_end_matches('"').to_string())
            .with_context(|| format!("{name}: Cargo.toml has no description"))?;
        let rest = description
            .strip_prefix("Exercise ")
            .with_context(|| format!("{name}: description must start with `Exercise <章节>:`"))?;
        let (chapter, title) = rest
            .split_once(": ")
            .with_context(|| format!("{name}: description must be `Exercise <章节>: <title>`"))?;
        let needs = Needs::parse(&manifest, &name)?;
        found.push(Exercise {
            name,
            chapter: chapter.to_string(),
            title: title.to_string(),
            needs,
        });
    }
    let order = |chapter: &str| {
        let part = ["二", "三", "四", "五"]
            .iter()
            .position(|p| chapter.starts_with(p))
            .unwrap_or(9);
        let section: u32 = chapter
            .split('.')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (part, section)
    };
    found.sort_by(|a, b| {
        order(&a.chapter)
            .cmp(&order(&b.chapter))
            .then(a.name.cmp(&b.name))
    });
    Ok(found)
}

fn find(name: &str) -> Result<Exercise> {
    let all = all()?;
    all.iter()
        .find(|e| e.name == name)
        .cloned()
        .with_context(|| {
            format!(
                "no exercise named {name:?}; there are: {}",
                all.iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

pub fn run(command: ExerciseCommand) -> Result<ExitCode> {
    match command {
        ExerciseCommand::List => list(),
        ExerciseCommand::Check(Name { name }) => check(&find(&name)?),
        ExerciseCommand::Solve(Confirmed { name, yes }) => solve(&find(&name)?, yes),
        ExerciseCommand::Reset(Confirmed { name, yes }) => reset(&find(&name)?, yes),
        ExerciseCommand::Verify => {
            let report = verify(None, None)?;
            println!("{}", report.note);
            Ok(if report.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn list() -> Result<ExitCode> {
    let all = all()?;
    let done = all.iter().filter(|e| e.done()).count();
    println!("{:<28} {:<6} {:<8} title", "exercise", "章节", "status");
    for e in &all {
        let status = if e.done() { "done" } else { "to do" };
        let needs = match e.needs {
            Needs::Broker => String::new(),
            Needs::SecuredNode => format!(" (on the secured node: `{}`)", e.needs.start_command()),
        };
        println!(
            "{:<28} {:<6} {:<8} {}{needs}",
            e.name, e.chapter, status, e.title
        );
    }
    println!(
        "\n{done} of {} done. Next: `cargo xtask exercise check <name>` (a broker must run: `cargo xtask kafka up`).",
        all.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `cargo test -p <name>` (plus `extra`), output captured; against
/// `bootstrap` if given, else whatever `KAFKA_BROKERS` says.
fn cargo_test(
    exercise: &Exercise,
    extra: &[&str],
    bootstrap: Option<&str>,
) -> Result<(bool, String)> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .args(["test", "--locked", "-p", &exercise.name])
        .args(extra)
        .env("CARGO_TERM_COLOR", "never")
        // The panic message is the point; a backtrace would bury it.
        .env("RUST_BACKTRACE", "0")
        .current_dir(paths::workspace());
    if let Some(bootstrap) = bootstrap {
        command.env("KAFKA_BROKERS", bootstrap);
    }
    let output = command
        .output()
        .with_context(|| format!("running cargo test -p {}", exercise.name))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok((output.status.success(), text))
}

/// The lines a participant needs from a failed run: each panic and its message.
fn failures(output: &str) -> String {
    let mut lines = Vec::new();
    let mut keep = 0;
    for line in output.lines() {
        if line.contains("panicked at") || line.starts_with("error") {
            keep = 4;
        }
        if keep > 0 && !line.starts_with("note: run with `RUST_BACKTRACE") {
            lines.push(line);
            keep -= 1;
        }
    }
    if lines.is_empty() {
        output
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        lines.join("\n")
    }
}

fn check(exercise: &Exercise) -> Result<ExitCode> {
    let on = match exercise.needs {
        Needs::Broker => format!(
            "the broker in KAFKA_BROKERS (default {})",
            kafka_layout::ports::default_brokers()
        ),
        Needs::SecuredNode => format!(
            "the secured node at {} (`{}`)",
            kafka_layout::secure::bootstrap(),
            exercise.needs.start_command()
        ),
    };
    println!(
        "Checking {} ({} {}) — running its tests on {on}...",
        exercise.name, exercise.chapter, exercise.title,
    );
    let (ok, output) = cargo_test(exercise, &[], None)?;
    if ok {
        let stamp = exercise.stamp();
        if let Some(parent) = stamp.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&stamp, file_hash(&exercise.file()).unwrap_or_default())?;
        println!("\n✓ {} passes. Well done.", exercise.name);
        return Ok(ExitCode::SUCCESS);
    }
    println!("\n✗ {} does not pass yet:\n", exercise.name);
    println!("{}", failures(&output));
    println!("\nHint:\n{}", exercise.hint().trim_end());
    println!(
        "\n(Edit {}, then run `cargo xtask exercise check {}` again. Stuck? `cargo xtask exercise solve {}`.)",
        exercise
            .file()
            .strip_prefix(paths::workspace())
            .unwrap_or(&exercise.file())
            .display(),
        exercise.name,
        exercise.name
    );
    let _ = fs::remove_file(exercise.stamp());
    Ok(ExitCode::FAILURE)
}

/// Asks a yes/no question on the terminal; `false` unless the answer is y.
fn confirm(question: &str) -> Result<bool> {
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn solve(exercise: &Exercise, yes: bool) -> Result<ExitCode> {
    let file = exercise.file();
    if !yes
        && !confirm(&format!(
            "Replace {} with the reference solution? Your version is lost (reset restores the shipped one).",
            file.display()
        ))?
    {
        println!("Nothing changed.");
        return Ok(ExitCode::FAILURE);
    }
    fs::copy(exercise.solution(), &file).with_context(|| {
        format!(
            "copying {} to {}",
            exercise.solution().display(),
            file.display()
        )
    })?;
    println!(
        "{} now holds the solution. See it pass: `cargo xtask exercise check {}`.",
        file.display(),
        exercise.name
    );
    Ok(ExitCode::SUCCESS)
}

/// The shipped version of the participant's file, from git's HEAD.
fn shipped(exercise: &Exercise) -> Result<String> {
    let relative = exercise
        .file()
        .strip_prefix(paths::workspace())
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let output = Command::new("git")
        .args(["show", &format!("HEAD:{relative}")])
        .current_dir(paths::workspace())
        .output()
        .context("running git (reset needs the repository's history)")?;
    if !output.status.success() {
        bail!(
            "git cannot show the shipped {relative}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn reset(exercise: &Exercise, yes: bool) -> Result<ExitCode> {
    let original = shipped(exercise)?;
    let file = exercise.file();
    if !yes
        && !confirm(&format!(
            "Put {} back as shipped? Your changes are lost.",
            file.display()
        ))?
    {
        println!("Nothing changed.");
        return Ok(ExitCode::FAILURE);
    }
    fs::write(&file, original)?;
    let _ = fs::remove_file(exercise.stamp());
    println!("{} is back as shipped.", file.display());
    Ok(ExitCode::SUCCESS)
}

/// The outcome of [`verify`].
pub struct VerifyReport {
    pub passed: u32,
    pub failed: u32,
    pub note: String,
}

/// Every exercise must fail as shipped — its tests run and fail, it does
/// not merely fail to build — and pass with its solution. Each mode is one
/// `cargo test --no-run` for all exercises (the solutions through each
/// crate's `solution` feature, so nothing in the working tree changes), and
/// the test binaries run four at a time (see `runner.rs`). `only`: the
/// exercises checked where `cargo xtask test` runs them (the plain broker,
/// the secured node); `None`: every exercise — one whose node is not running
/// then fails with its tests' message saying how to start it.
pub fn verify(bootstrap: Option<&str>, only: Option<Needs>) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        passed: 0,
        failed: 0,
        note: String::new(),
    };
    let exercises: Vec<Exercise> = all()?
        .into_iter()
        .filter(|e| only.is_none_or(|needs| e.needs == needs))
        .collect();
    let pristine: Vec<&Exercise> = exercises
        .iter()
        .filter(|e| shipped(e).is_ok_and(|s| fs::read_to_string(e.file()).ok() == Some(s)))
        .collect();
    let unsolved = outcomes(&pristine, false, bootstrap)?;
    let everyone: Vec<&Exercise> = exercises.iter().collect();
    let solved = outcomes(&everyone, true, bootstrap)?;
    let mut lines = Vec::new();
    for exercise in &exercises {
        let unsolved = match unsolved.get(&exercise.name) {
            None => "not run (src/exercise.rs differs from the shipped one)".to_string(),
            Some((true, output)) => {
                report.failed += 1;
                format!("PASSES as shipped — the exercise proves nothing:\n{output}")
            }
            Some((false, output)) if !output.contains("test result: FAILED") => {
                report.failed += 1;
                format!("does not build as shipped:\n{}", failures(output))
            }
            Some((false, _)) => "fails as shipped".to_string(),
        };
        let solved = match solved.get(&exercise.name) {
            Some((true, _)) => "passes solved".to_string(),
            Some((false, output)) => {
                report.failed += 1;
                format!("FAILS with its solution:\n{}", failures(output))
            }
            None => {
                report.failed += 1;
                "FAILS with its solution: no test binary was built".to_string()
            }
        };
        if !unsolved.starts_with("PASSES")
            && !unsolved.starts_with("does not")
            && solved == "passes solved"
        {
            report.passed += 1;
        }
        lines.push(format!("{:<28} {unsolved}; {solved}", exercise.name));
    }
    report.note = lines.join("\n");
    Ok(report)
}

/// Builds the tests of `exercises` (solved or as shipped) in one cargo run
/// and runs them; for each exercise: did all its test binaries pass, and
/// what they printed. If the batch does not build, each exercise is built
/// on its own instead, so a broken one is named and the others still count.
fn outcomes(
    exercises: &[&Exercise],
    solution: bool,
    bootstrap: Option<&str>,
) -> Result<BTreeMap<String, (bool, String)>> {
    let mut results = BTreeMap::new();
    if exercises.is_empty() {
        return Ok(results);
    }
    let mode = if solution { "solved" } else { "as shipped" };
    let selection = |names: &[&Exercise]| {
        let mut args = Vec::new();
        for e in names {
            args.extend(["-p".to_string(), e.name.clone()]);
        }
        if solution {
            let features: Vec<String> = names
                .iter()
                .map(|e| format!("{}/solution", e.name))
                .collect();
            args.extend(["--features".to_string(), features.join(",")]);
        }
        args
    };
    println!(
        "--- exercises {mode}: building {} crate(s)",
        exercises.len()
    );
    let args = selection(exercises);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let binaries = match runner::build_quiet(&args) {
        Ok(binaries) => binaries,
        Err(_) => {
            // One of them does not build: find which, build the rest.
            let mut binaries = Vec::new();
            for exercise in exercises {
                let args = selection(&[exercise]);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                match runner::build_quiet(&args) {
                    Ok(mut built) => binaries.append(&mut built),
                    Err(e) => {
                        results.insert(exercise.name.clone(), (false, format!("error: {e:#}")));
                    }
                }
            }
            binaries
        }
    };
    let mut envs = vec![("CARGO_TERM_COLOR", "never")];
    if let Some(bootstrap) = bootstrap {
        envs.push(("KAFKA_BROKERS", bootstrap));
    }
    println!(
        "--- exercises {mode}: running {} test binaries",
        binaries.len()
    );
    let started = std::time::Instant::now();
    for finished in runner::run(binaries, &[], &envs, 4, |f, done, total| {
        println!(
            "    [{done}/{total}] {} {} ({:.1} s)",
            f.binary.label,
            if f.success { "passed" } else { "failed" },
            f.elapsed.as_secs_f64()
        );
    }) {
        let entry = results
            .entry(finished.binary.package.clone())
            .or_insert((true, String::new()));
        entry.0 &= finished.success;
        entry.1.push_str(&finished.output);
    }
    println!(
        "--- exercises {mode}: ran in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exercises_are_found_in_book_order_with_hints_and_solutions() {
        let all = all().unwrap();
        assert!(all.len() >= 3, "{all:?}");
        let parts: Vec<&str> = all.iter().map(|e| &e.chapter[..3]).collect();
        let mut sorted = parts.clone();
        sorted.sort_by_key(|p| ["二", "三", "四", "五"].iter().position(|x| x == p));
        assert_eq!(parts, sorted, "book order");
        for e in &all {
            assert!(e.file().exists(), "{}: no src/exercise.rs", e.name);
            assert!(e.solution().exists(), "{}: no solution", e.name);
            assert!(
                e.hint().len() > 40,
                "{}: hint.md missing or too short",
                e.name
            );
            assert!(
                fs::read_to_string(e.file()).unwrap().contains("TODO"),
                "{}: the exercise file must say where the work goes (TODO)",
                e.name
            );
        }
    }

    #[test]
    fn an_exercise_says_which_node_checks_it() {
        let secured = "[package.metadata.exercise]\nneeds = \"secured node\"\n";
        assert_eq!(Needs::parse(secured, "x").unwrap(), Needs::SecuredNode);
        assert_eq!(Needs::parse("[package]\n", "x").unwrap(), Needs::Broker);
        let error = Needs::parse("needs = \"three brokers\"\n", "ex-x").unwrap_err();
        assert!(error.to_string().contains("ex-x"), "{error}");
        let all = all().unwrap();
        let login = all.iter().find(|e| e.name == "ex-secure-login").unwrap();
        assert_eq!(login.needs, Needs::SecuredNode);
        let linger = all.iter().find(|e| e.name == "ex-linger").unwrap();
        assert_eq!(linger.needs, Needs::Broker);
    }

    #[test]
    fn failures_keeps_the_panic_and_its_message() {
        let output = "running 1 test\nthread 'x' panicked at tests/check.rs:3:4:\nsend_all gave up\nnote: run with `RUST_BACKTRACE=1`\ntest x ... FAILED";
        let kept = failures(output);
        assert!(
            kept.contains("panicked at") && kept.contains("send_all gave up"),
            "{kept}"
        );
        assert!(!kept.contains("RUST_BACKTRACE"), "{kept}");
    }
}

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

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use crate::paths;

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
        found.push(Exercise {
            name,
            chapter: chapter.to_string(),
            title: title.to_string(),
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
            let report = verify(None)?;
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
        println!("{:<28} {:<6} {:<8} {}", e.name, e.chapter, status, e.title);
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
    println!(
        "Checking {} ({} {}) — running its tests on the broker in KAFKA_BROKERS (default {})...",
        exercise.name,
        exercise.chapter,
        exercise.title,
        kafka_layout::ports::default_brokers()
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

/// Every exercise (or those named) must fail as shipped — its tests run and
/// fail, not a build error — and pass with its solution.
pub fn verify(bootstrap: Option<&str>) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        passed: 0,
        failed: 0,
        note: String::new(),
    };
    let mut lines = Vec::new();
    for exercise in all()? {
        let started = Instant::now();
        let edited = shipped(&exercise)
            .map(|s| fs::read_to_string(exercise.file()).ok() != Some(s))
            .unwrap_or(true);
        let unsolved = if edited {
            "not run (src/exercise.rs differs from the shipped one)".to_string()
        } else {
            let (ok, output) = cargo_test(&exercise, &[], bootstrap)?;
            if ok {
                report.failed += 1;
                format!("PASSES as shipped — the exercise proves nothing:\n{output}")
            } else if !output.contains("test result: FAILED") {
                report.failed += 1;
                format!("does not build as shipped:\n{}", failures(&output))
            } else {
                "fails as shipped".to_string()
            }
        };
        let (ok, output) = cargo_test(&exercise, &["--features", "solution"], bootstrap)?;
        let solved = if ok {
            "passes solved".to_string()
        } else {
            report.failed += 1;
            format!("FAILS with its solution:\n{}", failures(&output))
        };
        if !unsolved.starts_with("PASSES")
            && !unsolved.starts_with("does not")
            && solved == "passes solved"
        {
            report.passed += 1;
        }
        lines.push(format!(
            "{:<28} {unsolved}; {solved} ({:.0} s)",
            exercise.name,
            started.elapsed().as_secs_f64()
        ));
    }
    report.note = lines.join("\n");
    Ok(report)
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

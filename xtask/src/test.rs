//! `cargo xtask test`: every check the project makes, in one command.
//!
//! fmt → clippy → the tests against one broker → the workshop exercises
//! checked there → the quickstart, built and run as a reader would, on the
//! same broker → the tests that need three brokers (`#[ignore]`d in the
//! first phase, run here with `--ignored`) → the tests that need the
//! secured node of 四.6 (named `secure_node_*`, skipped by name in the
//! broker phases, run here by name with the node that `kafka up --secure`
//! starts) and the exercises checked on it → the book. Brokers this command
//! started are stopped at the end, whatever happened. The last line is the
//! summary: `xtask test: N passed, M failed`.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::exercise::Needs;
use crate::{book, kafka, paths, quickstart, runner, secure};

/// Tests whose names start with this need the secured node (四.6): the
/// broker phases skip them (`--skip`), the secured-node phase runs exactly
/// them. A name filter rather than `#[ignore]`, which already means
/// "needs three brokers".
const SECURE_TESTS: &str = "secure_node_";

#[derive(clap::Args)]
pub struct TestArgs {}

/// One phase's outcome.
struct Phase {
    name: &'static str,
    ok: bool,
    counts: Option<Counts>,
    elapsed: Duration,
    note: String,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    passed: u32,
    failed: u32,
    ignored: u32,
    filtered: u32,
}

pub fn run(_args: &TestArgs) -> Result<ExitCode> {
    let mut phases = Vec::new();
    phases.push(command_phase("fmt", cargo(&["fmt", "--all", "--check"])));
    phases.push(command_phase(
        "clippy",
        cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    ));

    // The quickstart runs on the same broker, after the tests have built
    // librdkafka into the target directory it shares.
    let mut single = with_brokers(
        1,
        &["tests, 1 broker", "exercises", "quickstart"],
        |bootstrap| {
            vec![
                test_phase(
                    "tests, 1 broker",
                    bootstrap,
                    &["--workspace", "--exclude", "ex-*"],
                    &["--skip", SECURE_TESTS],
                    parallel_jobs(),
                ),
                exercise_phase("exercises", Some(bootstrap), Needs::Broker),
                quickstart_phase(bootstrap),
            ]
        },
    );
    let three_node_tests = single[0].counts.map(|c| c.ignored).unwrap_or(0);
    let secure_node_tests = single[0].counts.map(|c| c.filtered).unwrap_or(0);
    phases.append(&mut single);

    let mut three = with_brokers(3, &["tests, 3 brokers"], |bootstrap| {
        // One binary at a time: these tests stop and freeze brokers.
        vec![test_phase(
            "tests, 3 brokers",
            bootstrap,
            &["--workspace", "--exclude", "ex-*"],
            &["--ignored", "--skip", SECURE_TESTS],
            1,
        )]
    })
    .remove(0);
    if let Some(counts) = three.counts
        && counts.passed + counts.failed != three_node_tests
    {
        three.ok = false;
        three.note = format!(
            "{} tests ran but the first phase set {three_node_tests} aside for three brokers",
            counts.passed + counts.failed
        );
    }
    phases.push(three);
    phases.append(&mut secure_phases(secure_node_tests));

    let started = Instant::now();
    let book_result = book::build_and_check(false);
    phases.push(Phase {
        name: "book",
        ok: book_result.is_ok(),
        counts: None,
        elapsed: started.elapsed(),
        note: match book_result {
            Ok(summary) => summary,
            Err(e) => format!("{e:#}"),
        },
    });

    Ok(print_summary(&phases))
}

/// Every workshop exercise checked on `needs` fails as shipped and passes
/// with its solution.
fn exercise_phase(name: &'static str, bootstrap: Option<&str>, needs: Needs) -> Phase {
    println!("\n==> {name} (each must fail as shipped and pass solved)");
    let started = Instant::now();
    let (ok, counts, note) = match crate::exercise::verify(bootstrap, Some(needs)) {
        Ok(report) => {
            println!("{}", report.note);
            (
                report.failed == 0,
                Some(Counts {
                    passed: report.passed,
                    failed: report.failed,
                    ignored: 0,
                    filtered: 0,
                }),
                if report.failed == 0 {
                    String::new()
                } else {
                    report.note
                },
            )
        }
        Err(e) => (false, None, format!("{e:#}")),
    };
    Phase {
        name,
        ok,
        counts,
        elapsed: started.elapsed(),
        note,
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(paths::workspace());
    command
}

fn command_phase(name: &'static str, mut command: Command) -> Phase {
    println!("\n==> {name}: {command:?}");
    let started = Instant::now();
    let (ok, note) = match command.status() {
        Ok(status) if status.success() => (true, String::new()),
        Ok(status) => (false, format!("exited with {status}")),
        Err(e) => (false, format!("could not run: {e}")),
    };
    Phase {
        name,
        ok,
        counts: None,
        elapsed: started.elapsed(),
        note,
    }
}

/// Runs `phases` against a cluster of `nodes` brokers, started if none is
/// running and stopped again afterwards. Without a cluster, each of the
/// phases `names` fails with the reason.
fn with_brokers(
    nodes: u8,
    names: &[&'static str],
    phases: impl FnOnce(&str) -> Vec<Phase>,
) -> Vec<Phase> {
    println!("\n==> {} broker(s) for: {}", nodes, names.join(", "));
    let started = Instant::now();
    match BrokerLease::acquire(nodes) {
        Ok(broker) => {
            println!("    brokers: {} ({})", broker.bootstrap, broker.origin);
            phases(&broker.bootstrap)
        }
        Err(e) => names
            .iter()
            .map(|&name| Phase {
                name,
                ok: false,
                counts: None,
                elapsed: started.elapsed(),
                note: format!("{e:#}"),
            })
            .collect(),
    }
}

/// How many test binaries the 1-broker phase runs at a time (`XTASK_TEST_JOBS`
/// overrides). Most of them wait on the broker rather than on the CPU.
fn parallel_jobs() -> usize {
    std::env::var("XTASK_TEST_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .filter(|&j| j > 0)
        .unwrap_or(4)
}

/// Builds the test binaries that `selection` picks (cargo's package
/// arguments) and runs each with `test_args` against `bootstrap`, `jobs` at
/// a time (see `runner.rs`).
fn test_phase(
    name: &'static str,
    bootstrap: &str,
    selection: &[&str],
    test_args: &[&str],
    jobs: usize,
) -> Phase {
    println!("\n==> {name}");
    let started = Instant::now();
    let binaries = match runner::build(selection) {
        Ok(binaries) => binaries,
        Err(e) => {
            return Phase {
                name,
                ok: false,
                counts: None,
                elapsed: started.elapsed(),
                note: format!("{e:#}"),
            };
        }
    };
    println!(
        "    built {} test binaries in {:.1} s; running them {jobs} at a time",
        binaries.len(),
        started.elapsed().as_secs_f64()
    );
    let mut counts = Counts::default();
    let mut failed_tests = Vec::new();
    let mut panics = Vec::new();
    let mut failed_binaries = Vec::new();
    runner::run(
        binaries,
        test_args,
        &[("KAFKA_BROKERS", bootstrap)],
        jobs,
        |finished, done, total| {
            println!(
                "\n---- [{done}/{total}] {} ({:.1} s, {:.0} s into the phase) ----",
                finished.binary.label,
                finished.elapsed.as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
            print!("{}", finished.output);
            let mut named = false;
            for line in finished.output.lines() {
                if let Some(result) = parse_result_line(line) {
                    counts.passed += result.passed;
                    counts.failed += result.failed;
                    counts.ignored += result.ignored;
                    counts.filtered += result.filtered;
                }
                if let Some(test) = line
                    .strip_prefix("test ")
                    .and_then(|rest| rest.strip_suffix(" ... FAILED"))
                {
                    failed_tests.push(test.to_string());
                    named = true;
                }
            }
            if !finished.success {
                panics.extend(panic_digests(&finished.output));
            }
            if !finished.success && !named {
                failed_binaries.push(finished.binary.label.clone());
            }
        },
    );
    let mut note = Vec::new();
    if !failed_tests.is_empty() {
        note.push(format!("failed: {}", failed_tests.join(", ")));
    }
    if !failed_binaries.is_empty() {
        note.push(format!(
            "failed without a failing test (crashed or killed): {}",
            failed_binaries.join(", ")
        ));
    }
    // The summary is what a CI page shows first: say where each failure
    // panicked and why, not only its name.
    note.extend(panics);
    Phase {
        name,
        ok: note.is_empty() && counts.failed == 0,
        counts: Some(counts),
        elapsed: started.elapsed(),
        note: note.join("\n"),
    }
}

/// The `secure_node_*` tests, then the exercises checked on the secured
/// node, with the node started (and stopped again) if it is not running.
/// `expected` is how many tests the 1-broker phase skipped by name: every
/// one of them must run here.
fn secure_phases(expected: u32) -> Vec<Phase> {
    const NAME: &str = "tests, secured node";
    const EXERCISES: &str = "exercises, secured node";
    println!("\n==> secured node (kafka up --secure) for: {NAME}, {EXERCISES}");
    let started = Instant::now();
    let ours = secure::running_pid().is_none();
    if ours && let Err(e) = secure::up() {
        return [NAME, EXERCISES]
            .into_iter()
            .map(|name| Phase {
                name,
                ok: false,
                counts: None,
                elapsed: started.elapsed(),
                note: format!("the secured node did not start: {e:#}"),
            })
            .collect();
    }
    let mut tests = test_phase(
        NAME,
        &kafka_layout::secure::bootstrap(),
        &["-p", "ch04-security"],
        &[SECURE_TESTS],
        1,
    );
    tests.elapsed = started.elapsed();
    if let Some(counts) = tests.counts
        && counts.passed + counts.failed != expected
    {
        tests.ok = false;
        tests.note = format!(
            "{} tests ran but the first phase set {expected} aside for the secured node",
            counts.passed + counts.failed
        );
    }
    let exercises = exercise_phase(EXERCISES, None, Needs::SecuredNode);
    if ours && let Err(e) = secure::down(false) {
        eprintln!("warning: stopping the secured node failed: {e:#}");
    }
    vec![tests, exercises]
}

/// The quickstart built and run as a reader would (see `quickstart.rs`);
/// each of its checks counts as one test.
fn quickstart_phase(bootstrap: &str) -> Phase {
    println!("\n==> quickstart");
    let started = Instant::now();
    let report = quickstart::checks(bootstrap);
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.ok).collect();
    let mut note = match report.build_time {
        Some(took) => format!("build (shared target dir): {:.1} s", took.as_secs_f64()),
        None => String::new(),
    };
    for check in &failed {
        let first_line = check.note.lines().next().unwrap_or_default();
        note.push_str(&format!("\nfailed: {} — {first_line}", check.name));
    }
    Phase {
        name: "quickstart",
        ok: failed.is_empty(),
        counts: Some(Counts {
            passed: (report.checks.len() - failed.len()) as u32,
            failed: failed.len() as u32,
            ignored: 0,
            filtered: 0,
        }),
        elapsed: started.elapsed(),
        note: note.trim_start().to_string(),
    }
}

/// One line per panic in a test binary's output: the thread (the test's
/// name), where it panicked and the first lines of its message, e.g.
/// `coordinator_down: panicked at tests/a.rs:9:5: leaders did not move`.
fn panic_digests(output: &str) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    let mut digests = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((thread, place)) = line.split_once(" panicked at ") else {
            continue;
        };
        let name = thread
            .trim_start_matches("thread '")
            .split('\'')
            .next()
            .unwrap_or(thread);
        let message: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| {
                !l.is_empty() && !l.starts_with("note: ") && !l.starts_with("stack backtrace:")
            })
            .take(4)
            .map(|l| l.trim())
            .collect();
        let mut digest = format!(
            "{name}: panicked at {} {}",
            place.trim_end_matches(':'),
            message.join(" / ")
        );
        if digest.chars().count() > 400 {
            digest = digest.chars().take(400).collect::<String>() + " …";
        }
        digests.push(digest);
    }
    digests
}

/// Parses `test result: ok. 7 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; ...`.
fn parse_result_line(line: &str) -> Option<Counts> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let mut counts = Counts::default();
    for part in rest.split(';') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (number, label) = match words.as_slice() {
            [_, n, label, ..] if n.parse::<u32>().is_ok() => (n, label),
            [n, label, ..] => (n, label),
            _ => continue,
        };
        let Ok(n) = number.parse::<u32>() else {
            continue;
        };
        match *label {
            "passed" => counts.passed = n,
            "failed" => counts.failed = n,
            "ignored" => counts.ignored = n,
            "filtered" => counts.filtered = n,
            _ => {}
        }
    }
    Some(counts)
}

/// A cluster for one test phase; stops what it started when dropped and
/// restores a cluster it had to stop.
struct BrokerLease {
    bootstrap: String,
    origin: String,
    started: bool,
    restore: Option<u8>,
}

impl BrokerLease {
    fn acquire(nodes: u8) -> Result<BrokerLease> {
        if let Ok(given) = std::env::var("KAFKA_BROKERS") {
            return Ok(BrokerLease {
                bootstrap: given,
                origin: "from KAFKA_BROKERS".into(),
                started: false,
                restore: None,
            });
        }
        let mut restore = None;
        match kafka::running_layout()? {
            Some(running) if running == nodes => {
                return Ok(BrokerLease {
                    bootstrap: kafka::bootstrap(nodes),
                    origin: "already running, started by cargo xtask kafka up".into(),
                    started: false,
                    restore: None,
                });
            }
            Some(running) => {
                println!(
                    "    stopping the running {running}-node cluster for this phase (restarted afterwards)"
                );
                kafka::down(false)?;
                restore = Some(running);
            }
            None => {
                if let Ok(brokers) = kafka_layout::probe::brokers(
                    &kafka_layout::ports::default_brokers(),
                    Duration::from_secs(3),
                ) {
                    if brokers.len() >= usize::from(nodes) {
                        return Ok(BrokerLease {
                            bootstrap: kafka::bootstrap(nodes.min(brokers.len() as u8)),
                            origin: format!(
                                "a cluster not started by xtask, {} broker(s)",
                                brokers.len()
                            ),
                            started: false,
                            restore: None,
                        });
                    }
                    bail!(
                        "this phase needs {nodes} brokers, but a cluster not started by cargo xtask \
                         answers on {} with {}. Stop it (e.g. `docker compose down`) so \
                         xtask can start its own, or start three nodes with \
                         `docker compose --profile cluster up -d kafka-1 kafka-2 kafka-3`",
                        kafka_layout::ports::default_brokers(),
                        brokers.len()
                    );
                }
            }
        }
        let elapsed = kafka::up(nodes)?;
        println!(
            "    started {nodes} node(s) in {:.1} s",
            elapsed.as_secs_f64()
        );
        Ok(BrokerLease {
            bootstrap: kafka::bootstrap(nodes),
            origin: format!("started by this run ({nodes} node(s))"),
            started: true,
            restore,
        })
    }
}

impl Drop for BrokerLease {
    fn drop(&mut self) {
        if self.started
            && let Err(e) = kafka::down(false)
        {
            eprintln!("warning: stopping the test brokers failed: {e:#}");
        }
        if let Some(nodes) = self.restore
            && let Err(e) = kafka::up(nodes)
        {
            eprintln!("warning: restarting your {nodes}-node cluster failed: {e:#}");
        }
    }
}

fn print_summary(phases: &[Phase]) -> ExitCode {
    println!("\n==================== cargo xtask test: summary ====================");
    let mut total = Counts::default();
    for phase in phases {
        let counts = phase
            .counts
            .map(|c| {
                total.passed += c.passed;
                total.failed += c.failed;
                format!(
                    "{:>4} passed {:>3} failed {:>3} ignored",
                    c.passed, c.failed, c.ignored
                )
            })
            .unwrap_or_default();
        println!(
            "{:<4} {:<18} {:>7.1} s  {counts}",
            if phase.ok { "ok" } else { "FAIL" },
            phase.name,
            phase.elapsed.as_secs_f64()
        );
        if !phase.note.is_empty() {
            for line in phase.note.lines() {
                println!("       {line}");
            }
        }
    }
    println!(
        "(`ignored` in the 1-broker phase are the tests that need three brokers: the next phase runs them;\n \
         the `{SECURE_TESTS}*` tests are skipped by name there and run in the secured-node phase)"
    );
    let failed_phases = phases.iter().filter(|p| !p.ok).count() as u32;
    let failed = total.failed.max(failed_phases);
    println!("xtask test: {} passed, {} failed", total.passed, failed);
    if phases.iter().all(|p| p.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--skip`/the filter match substrings: a test that merely contains
    /// the marker would move between phases by accident.
    #[test]
    fn only_secured_node_tests_contain_the_marker() {
        fn visit(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() && !path.ends_with("target") {
                    visit(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    for line in text.lines() {
                        let Some(rest) = line.trim_start().split("fn ").nth(1) else {
                            continue;
                        };
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_alphanumeric() || *c == '_')
                            .collect();
                        if name.contains(SECURE_TESTS) && !name.starts_with(SECURE_TESTS) {
                            out.push(format!("{}: {name}", path.display()));
                        }
                    }
                }
            }
        }
        let mut wrong = Vec::new();
        for dir in ["chapters", "labs", "shared", "exercises"] {
            visit(&paths::workspace().join(dir), &mut wrong);
        }
        assert!(wrong.is_empty(), "rename these: {wrong:?}");
    }

    #[test]
    fn a_panic_is_summed_up_as_the_test_where_and_why() {
        let output = "running 1 test\n\
            test a_test ... FAILED\n\n\
            ---- a_test stdout ----\n\
            thread 'a_test' (20990) panicked at tests/cadence.rs:157:5:\n\
            assertion `left == right` failed\n  left: 1\n right: 0\n\
            note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_digests(output),
            [
                "a_test: panicked at tests/cadence.rs:157:5 assertion `left == right` failed / left: 1 / right: 0"
            ]
        );
        assert!(panic_digests("test result: ok. 1 passed").is_empty());
    }

    #[test]
    fn parses_cargo_test_result_lines() {
        let c = parse_result_line(
            "test result: ok. 7 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 1.02s",
        )
        .unwrap();
        assert_eq!((c.passed, c.failed, c.ignored), (7, 0, 2));
        let c = parse_result_line(
            "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 6 filtered out; finished in 1.02s",
        )
        .unwrap();
        assert_eq!(c.filtered, 6);
        let c = parse_result_line(
            "test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out",
        )
        .unwrap();
        assert_eq!((c.passed, c.failed, c.ignored), (3, 1, 0));
        assert!(parse_result_line("running 3 tests").is_none());
    }
}

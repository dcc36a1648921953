//! The chaos drill: the three stages (two transform instances) run on a
//! three-broker cluster while stage processes are SIGKILLed at random and
//! restarted, one broker is SIGKILLed and restarted, and — so that the
//! at-least-once run must show what it does — the first transform and the
//! first sink stop themselves right after writing their output, before
//! their offsets are committed, and are killed there. Then the audit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use tutorial_lab::local_cluster::{Faults, nodes};
use tutorial_lab::testing::ChildProcess;
use tutorial_support::Cluster;
use tutorial_support::topics::{delete_topic, unique_name};

use super::audit::{self, Audit};
use super::positions::Monitor;
use super::stages::{Guarantee, PAUSED, Topics};
use crate::lesson::windows::Windowing;

#[derive(Debug, Clone, clap::Args)]
pub struct DrillArgs {
    #[arg(long, value_enum, default_value = "exactly-once")]
    pub mode: Guarantee,
    /// Records in the input topic at the end: ids 0..EVENTS, and more if killed ingests left gaps (the rest of an id block, the events still in its producer queue)
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Ingest rate, events per second
    #[arg(long, default_value_t = 10_000)]
    pub rate: u64,
    /// Random SIGKILLs of stage processes (each restarted)
    #[arg(long, default_value_t = 10)]
    pub kills: usize,
    /// Do not SIGKILL (and restart) a broker of the local cluster
    #[arg(long)]
    pub no_broker_kill: bool,
    /// Seed of the random kills (default: from the clock; printed)
    #[arg(long)]
    pub seed: Option<u64>,
}

/// What the drill did and what the audit found.
#[derive(Debug, Clone)]
pub struct Report {
    pub audit: Audit,
    pub kills: Vec<String>,
    /// Stages that stopped on an error of their own and were restarted.
    pub exits: Vec<String>,
    pub broker_killed: Option<i32>,
    pub seconds: f64,
    pub seed: u64,
}

/// xorshift64*: the drill's dice (reproducible from the printed seed).
struct Dice(u64);

impl Dice {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % below.max(1)
    }
}

/// One stage process the drill can kill and restart.
struct Proc {
    name: String,
    again: Vec<String>,
    child: ChildProcess,
    restarts: u32,
    finished: bool,
    /// Started with a pause point it has not reached yet.
    pause_pending: bool,
}

impl Proc {
    fn start(
        exe: &Path,
        brokers: &str,
        name: &str,
        first: Vec<String>,
        again: Vec<String>,
    ) -> Result<Proc> {
        let child = spawn(exe, brokers, &first)?;
        let pause_pending = first.iter().any(|a| a == "--pause-at");
        Ok(Proc {
            name: name.into(),
            again,
            child,
            restarts: 0,
            finished: false,
            pause_pending,
        })
    }

    fn restart(&mut self, exe: &Path, brokers: &str, logs: &Path) -> Result<()> {
        self.child.kill();
        self.keep_log(logs);
        self.child = spawn(exe, brokers, &self.again)?;
        self.restarts += 1;
        Ok(())
    }
}

impl Proc {
    /// Moves ingest's `--until-id` up by `by`; returns the new value.
    fn raise_until(&mut self, by: u64) -> u64 {
        let at = self
            .again
            .iter()
            .position(|a| a == "--until-id")
            .expect("ingest has --until-id")
            + 1;
        let until = self.again[at].parse::<u64>().unwrap_or(0) + by;
        self.again[at] = until.to_string();
        until
    }

    /// Appends this process's output to `<logs>/<name>.log` (every life of
    /// a stage in one file, in order).
    fn keep_log(&self, logs: &Path) {
        use std::io::Write;
        let path = logs.join(format!("{}.log", self.name));
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "==== life {} ====", self.restarts + 1);
            let _ = file.write_all(self.child.transcript().as_bytes());
        }
    }
}

fn spawn(exe: &Path, brokers: &str, args: &[String]) -> Result<ChildProcess> {
    let mut command = Command::new(exe);
    command
        .args(args)
        .env("KAFKA_BROKERS", brokers)
        .env("RUST_LOG", "warn");
    Ok(ChildProcess::try_spawn(command)?)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Runs the drill on `cluster` with the stage binary `exe`.
pub async fn run(cluster: &Cluster, exe: &Path, args: &DrillArgs) -> Result<Report> {
    cluster.require_real("the chaos drill (transactions, a local three-broker cluster to kill)")?;
    let topics = Topics {
        prefix: unique_name("ch05-drill"),
        partitions: 6,
    };
    topics.ensure(cluster).await?;
    let dir = std::env::temp_dir().join(&topics.prefix);
    std::fs::create_dir_all(&dir)?;
    let (bootstrap, exe2, args2, topics2, dir2) = (
        cluster.bootstrap_servers().to_string(),
        exe.to_path_buf(),
        args.clone(),
        topics.clone(),
        dir.clone(),
    );
    let report =
        tokio::task::spawn_blocking(move || drill(&bootstrap, &exe2, &args2, &topics2, &dir2))
            .await?;
    if report.is_ok() {
        for topic in [topics.events(), topics.results(), topics.dlq()] {
            delete_topic(cluster, &topic).await.ok();
        }
        // The stages' logs stay (small); the database goes.
        for file in [
            "pipeline.db",
            "pipeline.db-wal",
            "pipeline.db-shm",
            "ingest.state",
        ] {
            std::fs::remove_file(dir.join(file)).ok();
        }
    }
    report
}

fn drill(
    bootstrap: &str,
    exe: &Path,
    args: &DrillArgs,
    topics: &Topics,
    dir: &Path,
) -> Result<Report> {
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1
    });
    println!(
        "drill: {:?}, {} event ids at {}/s, {} kills, seed {seed}",
        args.mode, args.events, args.rate, args.kills
    );
    let mut dice = Dice(seed);
    let mode = match args.mode {
        Guarantee::ExactlyOnce => "exactly-once",
        Guarantee::AtLeastOnce => "at-least-once",
    };
    let db: PathBuf = dir.join("pipeline.db");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    println!("drill: database and stage logs in {}", dir.display());
    let common = |stage: &str| {
        let mut v = strings(&[stage, "--prefix", &topics.prefix, "--metrics-port", "0"]);
        if stage != "ingest" {
            v.extend(strings(&["--mode", mode]));
        }
        v
    };
    let group = topics.transform_group();
    let sink_args = [
        common("sink"),
        strings(&[
            "--db",
            &db.display().to_string(),
            "--ledger",
            "--group",
            &topics.sink_group(),
        ]),
    ]
    .concat();
    // The first sink and transform-0 stop themselves after writing their
    // 5th batch, before committing its offsets: a kill that must hurt
    // at-least-once (and must not hurt exactly-once).
    let pause = strings(&["--pause-at", "produced", "--pause-in-batch", "5"]);
    let mut procs = vec![Proc::start(
        exe,
        bootstrap,
        "sink",
        [sink_args.clone(), pause.clone()].concat(),
        sink_args,
    )?];
    for i in 0..2 {
        let a = [
            common("transform"),
            strings(&["--group", &group, "--instance", &format!("transform-{i}")]),
        ]
        .concat();
        let first = if i == 0 {
            [a.clone(), pause.clone()].concat()
        } else {
            a.clone()
        };
        procs.push(Proc::start(
            exe,
            bootstrap,
            &format!("transform-{i}"),
            first,
            a,
        )?);
    }
    let ingest = [
        common("ingest"),
        strings(&[
            "--rate",
            &args.rate.to_string(),
            "--until-id",
            &args.events.to_string(),
            "--bad-every",
            "997",
        ]),
        strings(&[
            "--state-file",
            &dir.join("ingest.state").display().to_string(),
        ]),
    ]
    .concat();
    procs.push(Proc::start(
        exe,
        bootstrap,
        "ingest",
        ingest.clone(),
        ingest,
    )?);

    let started = Instant::now();
    let mut faults = Faults::new();
    let mut broker_killed = None;
    let mut broker_restart_at = None;
    let mut kills = Vec::new();
    let mut exits = Vec::new();
    let mut next_kill = Instant::now() + Duration::from_millis(1500 + dice.next(1000));
    let monitor = Monitor::new(bootstrap, topics, &group)?;
    let mut settled: Option<(Instant, i64)> = None;
    let mut last_report = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(100));
        let elapsed = started.elapsed();
        if last_report.elapsed() >= Duration::from_secs(5) {
            last_report = Instant::now();
            match monitor.read(&db) {
                Ok(p) => println!(
                    "drill: {:.0} s  input {}  transform committed {}  results {}  counted {}",
                    elapsed.as_secs_f64(),
                    p.input,
                    p.transformed,
                    p.results,
                    p.counted
                ),
                Err(e) => println!(
                    "drill: {:.0} s  positions unknown: {e:#}",
                    elapsed.as_secs_f64()
                ),
            }
        }
        if elapsed > Duration::from_secs(480) {
            let tails: Vec<String> = procs
                .iter()
                .map(|p| {
                    let t = p.child.transcript();
                    let lines: Vec<&str> = t.lines().collect();
                    format!(
                        "--- {}:\n{}",
                        p.name,
                        lines[lines.len().saturating_sub(12)..].join("\n")
                    )
                })
                .collect();
            procs.iter().for_each(|p| p.keep_log(&logs));
            bail!(
                "the drill did not finish within 8 minutes (logs in {})\n{}",
                logs.display(),
                tails.join("\n")
            );
        }
        // Stages that stopped themselves at the chosen point: kill them there.
        for p in procs.iter_mut() {
            if p.pause_pending && p.child.transcript().contains(PAUSED) {
                p.pause_pending = false;
                kills.push(format!("{}@paused-after-output", p.name));
                println!(
                    "drill: kill {} (paused after its output, before its offsets)",
                    p.name
                );
                p.restart(exe, bootstrap, &logs)?;
            }
        }
        // A stage that exited: ingest when done; anything else is a failure.
        let mut failed = None;
        for p in procs.iter_mut().filter(|p| !p.finished) {
            if let Some(status) = p.child.exited() {
                if p.name == "ingest" && status.success() {
                    // A killed ingest leaves gaps (its queued events die with
                    // it): top the topic up until it holds EVENTS records.
                    let input = (0..10)
                        .find_map(|_| monitor.read(&db).ok())
                        .context("reading the input topic's end after ingest finished")?
                        .input;
                    let missing = args.events.saturating_sub(input.max(0) as u64);
                    if missing == 0 {
                        p.finished = true;
                        println!("drill: ingest finished at {:.1} s", elapsed.as_secs_f64());
                    } else {
                        let until = p.raise_until(missing + 1000);
                        println!(
                            "drill: the topic holds {input} records; ingest again, until id {until}"
                        );
                        p.keep_log(&logs);
                        p.child = spawn(exe, bootstrap, &p.again)?;
                    }
                } else if p.name == "ingest" {
                    failed = Some(format!("{} exited ({status})", p.name));
                } else {
                    // A stage that stops on an error it cannot go on from
                    // (a fatal producer error: librdkafka says to create a
                    // new producer) is restarted, as a supervisor would;
                    // the audit decides whether anything was lost.
                    let transcript = p.child.transcript();
                    let reason = transcript
                        .lines()
                        .rev()
                        .find(|l| l.starts_with("error:"))
                        .unwrap_or("no error line");
                    println!(
                        "drill: {} exited ({status}) at {:.1} s: {}; restarting it",
                        p.name,
                        elapsed.as_secs_f64(),
                        reason.chars().take(160).collect::<String>()
                    );
                    exits.push(p.name.clone());
                    p.pause_pending = false;
                    p.restart(exe, bootstrap, &logs)?;
                }
            }
        }
        if let Some(failed) = failed {
            procs.iter().for_each(|p| p.keep_log(&logs));
            bail!("{failed}; the stages' logs are in {}", logs.display());
        }
        if broker_killed.is_none() && kills.len() >= 3 && !args.no_broker_kill {
            let all = nodes().context("the drill kills a broker of the local cluster")?;
            let node = &all[dice.next(all.len() as u64) as usize];
            faults.kill(node)?;
            println!(
                "drill: SIGKILL broker {} at {:.1} s",
                node.id,
                elapsed.as_secs_f64()
            );
            broker_killed = Some(node.id);
            broker_restart_at = Some(Instant::now() + Duration::from_secs(5));
        }
        if let (Some(id), Some(at)) = (broker_killed, broker_restart_at)
            && Instant::now() >= at
        {
            faults.restart(id)?;
            println!(
                "drill: broker {id} restarted at {:.1} s",
                elapsed.as_secs_f64()
            );
            broker_restart_at = None;
        }
        let random_kills = kills.iter().filter(|k| !k.contains('@')).count();
        if random_kills < args.kills && Instant::now() >= next_kill {
            let alive: Vec<usize> = (0..procs.len())
                .filter(|i| !procs[*i].finished && !procs[*i].pause_pending)
                .collect();
            let victim = alive[dice.next(alive.len() as u64) as usize];
            let p = &mut procs[victim];
            println!(
                "drill: SIGKILL {} at {:.1} s",
                p.name,
                elapsed.as_secs_f64()
            );
            kills.push(p.name.clone());
            p.restart(exe, bootstrap, &logs)?;
            next_kill = Instant::now() + Duration::from_millis(1000 + dice.next(1500));
        }
        // Done: ingest finished, every kill made, the broker back, and the
        // transform committed the whole input while the database stood still.
        let ingest_done = procs.iter().any(|p| p.name == "ingest" && p.finished);
        let paused_all = procs.iter().all(|p| !p.pause_pending);
        // The sink's last progress line: has it read everything there is?
        let sink_caught_up = procs.iter().any(|p| {
            p.name == "sink"
                && p.child
                    .transcript()
                    .lines()
                    .rev()
                    .find(|l| l.starts_with("sink: batches="))
                    .is_some_and(|l| l.ends_with("caught_up=true"))
        });
        if ingest_done && random_kills >= args.kills && broker_restart_at.is_none() {
            let now = monitor.read(&db).unwrap_or_default();
            if now.input > 0 && now.transformed == now.input && sink_caught_up {
                match settled {
                    // Done — and a stage still waiting for its chosen point
                    // (it lost its partitions to the other instance, say)
                    // is waited for 15 s, not forever.
                    Some((since, counted))
                        if counted == now.counted
                            && since.elapsed() >= Duration::from_secs(2)
                            && (paused_all || since.elapsed() >= Duration::from_secs(15)) =>
                    {
                        for p in procs.iter().filter(|p| p.pause_pending) {
                            println!("drill: {} never reached its chosen point", p.name);
                        }
                        break;
                    }
                    Some((_, counted)) if counted == now.counted => {}
                    _ => settled = Some((Instant::now(), now.counted)),
                }
            }
        }
    }
    for p in procs.iter_mut().filter(|p| !p.finished) {
        p.child.signal(nix::sys::signal::Signal::SIGTERM);
        p.child
            .finish(Duration::from_secs(60))
            .with_context(|| format!("stopping {}", p.name))?;
    }
    procs.iter().for_each(|p| p.keep_log(&logs));
    drop(faults);
    let seconds = started.elapsed().as_secs_f64();
    let windowing = Windowing {
        size_ms: 1000,
        grace_ms: 0,
    };
    let audit = audit::audit(bootstrap, &topics.events(), &topics.dlq(), &db, windowing)?;
    Ok(Report {
        audit,
        kills,
        exits,
        broker_killed,
        seconds,
        seed,
    })
}

//! `cargo run -p ch05-pipeline`: starts ingest, transform and sink as child
//! processes, shows them live (rate, lag, totals), and stops them in
//! order — on Ctrl-C, or once a finite run has drained — then prints a
//! summary. Each child's output goes to `<data-dir>/logs/<stage>.log`.

use std::fs::File;
use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tutorial_support::{Cluster, summary};

use super::positions::{Monitor, Positions};
use super::stages::Topics;

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub topics: Topics,
    /// Events per second (0: flat out)
    #[arg(long, default_value_t = 5000)]
    pub rate: u64,
    /// How long ingest runs, in seconds (0: until Ctrl-C)
    #[arg(long, default_value_t = 8)]
    pub seconds: u64,
    /// Every N-th event is a record that does not decode (0: none)
    #[arg(long, default_value_t = 1000)]
    pub bad_every: u64,
    /// Where the database, ingest's state file and the stages' logs go
    #[arg(long, default_value = "target/ch05-pipeline")]
    pub data_dir: PathBuf,
    /// Transform instances (the group spreads the partitions over them)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub transforms: u8,
}

/// One running stage.
struct Stage {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Stage {
    fn spawn(name: &str, args: &[String], brokers: &str, logs: &Path) -> Result<Stage> {
        let log = logs.join(format!("{name}.log"));
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(std::env::current_exe()?)
            .args(args)
            .env("KAFKA_BROKERS", brokers)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            // Its own process group: Ctrl-C reaches the runner only, which
            // stops the stages in order.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Stage {
            name: name.into(),
            child,
            log,
        })
    }

    fn exited(&mut self) -> Result<Option<std::process::ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// SIGTERM (the stage finishes its batch and commits), then wait.
    async fn stop(&mut self, limit: Duration) -> Result<()> {
        if self.exited()?.is_none() {
            let pid = Pid::from_raw(self.child.id() as i32);
            let _ = kill(pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited()? {
                if !status.success() {
                    bail!("{} exited with {status}:\n{}", self.name, tail(&self.log));
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!(
                    "{} did not stop within {limit:?} (killed):\n{}",
                    self.name,
                    tail(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The last lines of a stage's log.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The live view: one line per stage (indicatif on a terminal, a plain
/// line every 2 s otherwise).
struct View {
    bars: Option<[ProgressBar; 3]>,
    last_plain: Instant,
}

impl View {
    fn new() -> View {
        let bars = std::io::stdout().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            let style =
                ProgressStyle::with_template("{spinner} {prefix:<10} {msg}").expect("template");
            ["ingest", "transform", "sink"].map(|name| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(name);
                bar
            })
        });
        View {
            bars,
            last_plain: Instant::now(),
        }
    }

    fn show(&mut self, now: &Positions, before: &Positions, dt: f64) {
        let rate = |a: i64, b: i64| ((a - b) as f64 / dt.max(0.001)).round() as i64;
        let lines = [
            format!(
                "{:>9} events in the topic  {:>7}/s",
                now.input,
                rate(now.input, before.input)
            ),
            format!(
                "{:>9} input committed   {:>7}/s  lag {:>7}  results {}",
                now.transformed,
                rate(now.transformed, before.transformed),
                now.input - now.transformed,
                now.results
            ),
            format!(
                "{:>9} events counted    {:>7}/s  lag {:>7}  rows {}",
                now.counted,
                rate(now.counted, before.counted),
                (now.results - now.sunk).max(0),
                now.rows
            ),
        ];
        match &self.bars {
            Some(bars) => {
                for (bar, line) in bars.iter().zip(lines) {
                    bar.set_message(line);
                    bar.tick();
                }
            }
            None if self.last_plain.elapsed() >= Duration::from_secs(2) => {
                self.last_plain = Instant::now();
                for (name, line) in ["ingest", "transform", "sink"].iter().zip(lines) {
                    println!("  {name:<10}{line}");
                }
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bars) = &self.bars {
            bars.iter().for_each(ProgressBar::abandon);
        }
    }
}

pub async fn run(cluster: &Cluster, args: RunArgs) -> Result<()> {
    cluster.require_real("the pipeline's replicated topics and transactions")?;
    args.topics.ensure(cluster).await?;
    let logs = args.data_dir.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let db = args.data_dir.join("pipeline.db");
    let brokers = cluster.bootstrap_servers();
    let topic_flags = [
        "--prefix".to_string(),
        args.topics.prefix.clone(),
        "--partitions".into(),
        args.topics.partitions.to_string(),
    ];
    let with = |stage: &str, extra: &[String]| -> Vec<String> {
        let mut v = vec![stage.to_string()];
        v.extend(topic_flags.iter().cloned());
        v.extend(extra.iter().cloned());
        v
    };
    let db_flag = db.display().to_string();
    let mut sink = Stage::spawn(
        "sink",
        &with("sink", &["--db".into(), db_flag.clone(), "--ledger".into()]),
        brokers,
        &logs,
    )?;
    let mut transforms = Vec::new();
    for i in 0..args.transforms {
        let mut flags = vec!["--instance".to_string(), format!("transform-{i}")];
        if i > 0 {
            flags.extend(["--metrics-port".to_string(), "0".to_string()]);
        }
        transforms.push(Stage::spawn(
            &format!("transform-{i}"),
            &with("transform", &flags),
            brokers,
            &logs,
        )?);
    }
    let state = args.data_dir.join("ingest.state").display().to_string();
    let mut ingest_flags = vec![
        "--rate".to_string(),
        args.rate.to_string(),
        "--bad-every".into(),
        args.bad_every.to_string(),
        "--state-file".into(),
        state,
    ];
    if args.seconds > 0 {
        // A finite run: as many events as `seconds` at `rate` (flat out: 50 000/s).
        let events = args.seconds * if args.rate == 0 { 50_000 } else { args.rate };
        ingest_flags.extend(["--events".to_string(), events.to_string()]);
    }
    let mut ingest = Stage::spawn("ingest", &with("ingest", &ingest_flags), brokers, &logs)?;
    println!(
        "pipeline: ingest → {} → transform ×{} → {} → sink → {}  (logs in {})",
        args.topics.events(),
        args.transforms,
        args.topics.results(),
        db.display(),
        logs.display()
    );
    println!(
        "pipeline: metrics at :{}/metrics (ingest), :{} (transform-0), :{} (sink); Ctrl-C stops it",
        kafka_layout::ports::pipeline_ingest_metrics(),
        kafka_layout::ports::pipeline_transform_metrics(),
        kafka_layout::ports::pipeline_sink_metrics()
    );

    let token = tutorial_support::shutdown_token();
    let monitor = Monitor::new(brokers, &args.topics, &args.topics.transform_group())?;
    let started = Instant::now();
    let first = monitor.read(&db)?;
    let (mut before, mut at) = (first, Instant::now());
    let mut view = View::new();
    let mut drained_since: Option<(Instant, Positions)> = None;
    let interrupted = loop {
        tokio::select! {
            () = token.cancelled() => break true,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let now = monitor.read(&db)?;
        view.show(&now, &before, at.elapsed().as_secs_f64());
        (before, at) = (now, Instant::now());
        for stage in transforms.iter_mut().chain([&mut sink]) {
            if let Some(status) = stage.exited()? {
                view.finish();
                bail!(
                    "{} stopped on its own ({status}):\n{}",
                    stage.name,
                    tail(&stage.log)
                );
            }
        }
        if let Some(status) = ingest.exited()? {
            if !status.success() {
                view.finish();
                bail!("ingest failed ({status}):\n{}", tail(&ingest.log));
            }
            // Drained: every input offset committed by the transform, and
            // the database unchanged for 1.5 s.
            if now.transformed == now.input {
                match drained_since {
                    Some((since, seen))
                        if seen == now && since.elapsed() >= Duration::from_millis(1500) =>
                    {
                        break false;
                    }
                    Some((_, seen)) if seen == now => {}
                    _ => drained_since = Some((Instant::now(), now)),
                }
            }
        }
        if started.elapsed() > Duration::from_secs(args.seconds.max(1) * 20 + 120)
            && args.seconds > 0
        {
            view.finish();
            bail!("the pipeline did not drain within {:?}", started.elapsed());
        }
    };
    view.finish();
    if interrupted {
        println!("pipeline: stopping ingest, then the transform, then the sink");
    }
    let limit = Duration::from_secs(40);
    ingest.stop(limit).await?;
    for transform in &mut transforms {
        transform.stop(limit).await?;
    }
    sink.stop(limit).await?;
    let last = monitor.read(&db)?;
    let elapsed = started.elapsed().as_secs_f64();
    let events = last.input - first.input;
    let counted = last.counted - first.counted;
    println!(
        "pipeline: {events} events ingested and {counted} counted in {elapsed:.1} s ({:.0} events/s end to end); \
         database totals: {} events in {} window rows; input committed {} of {}",
        counted as f64 / elapsed,
        last.counted,
        last.rows,
        last.transformed,
        last.input
    );
    summary(
        "pipeline",
        &[
            ("events", events.to_string()),
            ("counted", counted.to_string()),
            ("total_input", last.input.to_string()),
            ("total_counted", last.counted.to_string()),
            ("rows", last.rows.to_string()),
            ("transformed", last.transformed.to_string()),
            ("seconds", format!("{elapsed:.1}")),
            ("interrupted", interrupted.to_string()),
        ],
    );
    Ok(())
}

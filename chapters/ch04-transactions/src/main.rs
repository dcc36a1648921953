//! 四.4 事务与精确一次 — a transactional read-process-write loop, what
//! `read_committed` readers see, a crash drill, zombie fencing, the last
//! stable offset, and bad input.
//!
//! Run: `cargo run -p ch04-transactions` against a broker on localhost:9092.
//! After each step it prints one `summary:` line for the tests.
//! `… -- bench` measures the cost; `… -- worker …` is the drill's child.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use ch04_transactions::lab::scenes::{self, Refusal};
use ch04_transactions::lab::worker::{self, Mode, PausePoint, WorkerArgs};
use ch04_transactions::lab::{bench, drill, peers};
use clap::{Parser, Subcommand};
use tutorial_support::{BrokerArgs, Cluster, summary};

/// 四.4 事务与精确一次: exactly-once read-process-write, isolation levels, crash and zombie drills, the last stable offset
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    #[command(subcommand)]
    command: Option<Step>,
}

#[derive(Subcommand)]
enum Step {
    /// The crash drill's worker: the lesson's loop, optionally stopping itself at a point
    Worker(WorkerArgs),
    /// Throughput of at-least-once against exactly-once at two commit intervals
    Bench {
        /// Input records per run
        #[arg(long, default_value_t = 600_000)]
        records: usize,
        /// Runs of each variant (interleaved); the medians are compared
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=9))]
        rounds: u8,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Step::Worker(worker_args)) = &args.command {
        // A plain thread, no async runtime: the transactional calls block.
        return tutorial_support::exit_code(worker::run(&args.brokers.brokers, worker_args));
    }
    tutorial_support::init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return tutorial_support::exit_code(Err(error.into())),
    };
    tutorial_support::exit_code(runtime.block_on(run(&args)))
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    cluster.require_real(
        "transactions on a real coordinator (the showcase compares isolation levels, kills workers and fences zombies)",
    )?;
    if let Some(Step::Bench { records, rounds }) = &args.command {
        return run_bench(&cluster, *records, usize::from(*rounds)).await;
    }
    visibility(&cluster).await?;
    crash_drill(&cluster).await?;
    fencing(&cluster).await?;
    last_stable_offset(&cluster).await?;
    bad_input(&cluster).await?;
    other_clients(&cluster).await
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items.join(",")
    }
}

/// ① What each isolation level sees.
async fn visibility(cluster: &Cluster) -> Result<()> {
    let seen = scenes::visibility(cluster).await?;
    println!("① One committed, one aborted and one open transaction, 3 records each:");
    println!(
        "  read_committed   while open: {}",
        list(&seen.committed_while_open)
    );
    println!(
        "  read_uncommitted while open: {}",
        list(&seen.uncommitted_while_open)
    );
    println!(
        "  high watermark {}, last stable offset {} (the open transaction starts there)",
        seen.ends_while_open.high_watermark, seen.ends_while_open.last_stable
    );
    println!(
        "  read_committed after commit: {}",
        list(&seen.committed_after)
    );
    println!(
        "  high watermark {}, last stable offset {}",
        seen.ends_after.high_watermark, seen.ends_after.last_stable
    );
    summary(
        "visibility",
        &[
            ("committed_while_open", list(&seen.committed_while_open)),
            ("uncommitted_while_open", list(&seen.uncommitted_while_open)),
            (
                "high_while_open",
                seen.ends_while_open.high_watermark.to_string(),
            ),
            (
                "lso_while_open",
                seen.ends_while_open.last_stable.to_string(),
            ),
            ("committed_after", list(&seen.committed_after)),
            ("high_after", seen.ends_after.high_watermark.to_string()),
            ("lso_after", seen.ends_after.last_stable.to_string()),
        ],
    );
    Ok(())
}

/// ② Kill the worker at each point; a new instance takes over.
async fn crash_drill(cluster: &Cluster) -> Result<()> {
    let exe = std::env::current_exe()?;
    println!(
        "\n② Crash drill: {} records, batches of {}, the worker SIGKILLed in batch {}, a new instance takes over:",
        drill::RECORDS,
        drill::BATCH,
        drill::KILLED_IN_BATCH
    );
    println!(
        "  mode           kill point     output (read_committed)  lost  duplicated  taken over"
    );
    let cases = [
        (Mode::ExactlyOnce, PausePoint::AfterProduce),
        (Mode::ExactlyOnce, PausePoint::AfterOffsets),
        (Mode::ExactlyOnce, PausePoint::DuringCommit),
        (Mode::ExactlyOnce, PausePoint::AfterCommit),
        (Mode::AtLeastOnce, PausePoint::AfterProduce),
    ];
    for (mode, point) in cases {
        let result = drill::run(cluster, &exe, mode, point).await?;
        let mode_name = match mode {
            Mode::ExactlyOnce => "exactly-once",
            Mode::AtLeastOnce => "at-least-once",
        };
        println!(
            "  {mode_name:<14} {:<14} {:>23}  {:>4}  {:>10}  {:>10}",
            point.name(),
            result.committed.outputs,
            result.committed.lost,
            result.committed.duplicated,
            result.taken_over
        );
        summary(
            &format!("crash-{mode_name}-{}", point.name()),
            &[
                ("inputs", result.committed.inputs.to_string()),
                ("outputs", result.committed.outputs.to_string()),
                ("lost", result.committed.lost.to_string()),
                ("duplicated", result.committed.duplicated.to_string()),
                (
                    "uncommitted_records",
                    result.uncommitted_records.to_string(),
                ),
                ("taken_over", result.taken_over.to_string()),
            ],
        );
    }
    Ok(())
}

/// ③ Two instances, one transactional.id.
async fn fencing(cluster: &Cluster) -> Result<()> {
    let fenced = scenes::fencing(cluster).await?;
    println!("\n③ A second instance with the same transactional.id; the first one carries on:");
    if let Some(error) = &fenced.send_after {
        println!("  the old instance's send: {error}");
    }
    println!(
        "  the old instance's commit: {} ({:?})",
        fenced.error, fenced.class
    );
    println!("  read_committed:   {}", list(&fenced.committed));
    println!("  read_uncommitted: {}", list(&fenced.uncommitted));
    summary(
        "fencing",
        &[
            ("code", fenced.code.clone()),
            ("class", format!("{:?}", fenced.class)),
            ("committed", list(&fenced.committed)),
            ("uncommitted", list(&fenced.uncommitted)),
        ],
    );
    Ok(())
}

/// ④ The last stable offset and what lag looks like.
async fn last_stable_offset(cluster: &Cluster) -> Result<()> {
    let lso = scenes::last_stable_offset(cluster).await?;
    println!(
        "\n④ 5 plain records, 5 in a transaction left open, 5 plain records; a read_committed member reads and commits:"
    );
    println!(
        "  open:      high watermark {:>2}, LSO {:>2}; the member read {:>2} records, committed {:>2}: lag {} to the high watermark, {} to the LSO",
        lso.while_open.high_watermark,
        lso.while_open.last_stable,
        lso.read_while_open,
        lso.committed_while_open,
        lso.while_open.high_watermark - lso.committed_while_open,
        lso.while_open.last_stable - lso.committed_while_open
    );
    println!(
        "  committed: high watermark {:>2}, LSO {:>2}; the member read {:>2} more,   committed {:>2}: lag {} (the commit marker)",
        lso.after.high_watermark,
        lso.after.last_stable,
        lso.read_after,
        lso.committed_after,
        lso.after.high_watermark - lso.committed_after
    );
    summary(
        "lso",
        &[
            ("high_while_open", lso.while_open.high_watermark.to_string()),
            ("lso_while_open", lso.while_open.last_stable.to_string()),
            ("read_while_open", lso.read_while_open.to_string()),
            ("committed_while_open", lso.committed_while_open.to_string()),
            ("high_after", lso.after.high_watermark.to_string()),
            ("lso_after", lso.after.last_stable.to_string()),
            ("read_after", lso.read_after.to_string()),
            ("committed_after", lso.committed_after.to_string()),
            (
                "lag_after",
                (lso.after.high_watermark - lso.committed_after).to_string(),
            ),
        ],
    );
    Ok(())
}

fn show(refusal: &Refusal) {
    println!(
        "  {:<22} after {:.1} s: {}",
        refusal.case, refusal.seconds, refusal.error
    );
    match refusal.class {
        Some(class) => println!("  {:<22} flags: {} → {class:?}", "", refusal.flags),
        None => println!(
            "  {:<22} not a transactional error: fix the configuration",
            ""
        ),
    }
}

/// ⑤ Bad input: each a clear error, none a hang.
async fn bad_input(cluster: &Cluster) -> Result<()> {
    println!("\n⑤ Bad input:");
    let bootstrap = cluster.bootstrap_servers().to_string();
    let refusals = tokio::task::spawn_blocking(move || -> Result<Vec<Refusal>> {
        Ok(vec![
            scenes::timeout_below_minimum(&bootstrap)?,
            scenes::timeout_above_broker_maximum(&bootstrap)?,
            scenes::commit_without_begin(&bootstrap)?,
        ])
    })
    .await??;
    for refusal in &refusals {
        show(refusal);
    }
    let expired = scenes::transaction_outlives_timeout(cluster).await?;
    println!(
        "  transaction.timeout.ms=1000, the work takes longer: the coordinator aborted it after {:.1} s",
        expired.aborted_after
    );
    show(&expired.commit);
    let mut fields: Vec<(String, String)> = Vec::new();
    for refusal in refusals.iter().chain([&expired.commit]) {
        fields.push((format!("{}_code", refusal.case), refusal.code.clone()));
        fields.push((
            format!("{}_class", refusal.case),
            refusal
                .class
                .map_or_else(|| "-".into(), |c| format!("{c:?}")),
        ));
        fields.push((format!("{}_flags", refusal.case), refusal.flags.into()));
    }
    fields.push(("expired_committed".into(), expired.committed.to_string()));
    fields.push((
        "expired_uncommitted".into(),
        expired.uncommitted.to_string(),
    ));
    let fields: Vec<(&str, String)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    summary("bad-input", &fields);
    Ok(())
}

/// ⑥ What kafka-go's Reader and Java's console consumer return.
async fn other_clients(cluster: &Cluster) -> Result<()> {
    if !tutorial_lab::go::GoProgram::available() || !kafka_layout::jars_present() {
        println!(
            "\n⑥ Not run: it needs Go ({}) and the Kafka jars (`cargo xtask kafka up` fetches them).",
            tutorial_lab::go::INSTALL_GO
        );
        summary("other-clients", &[("run", "false".into())]);
        return Ok(());
    }
    let views = peers::compare(cluster).await?;
    println!(
        "\n⑥ 3 committed, 3 aborted, 2 committed records (transactional), read by other clients:"
    );
    println!(
        "  Java console consumer, read_committed: {}",
        list(&views.java_committed)
    );
    println!("  kafka-go Reader, IsolationLevel: ReadCommitted:");
    for message in &views.kafka_go_committed {
        println!(
            "    offset {:>2}  key {:<8}  value {}",
            message.offset,
            if message.key_hex.is_empty() {
                "-"
            } else {
                &message.key_hex
            },
            message.value
        );
    }
    let aborted = views
        .kafka_go_committed
        .iter()
        .filter(|m| m.value.starts_with("aborted-"))
        .count();
    let markers = views
        .kafka_go_committed
        .iter()
        .filter(|m| m.value.starts_with("hex:"))
        .count();
    summary(
        "other-clients",
        &[
            ("run", "true".into()),
            ("java_committed", views.java_committed.len().to_string()),
            (
                "kafka_go_messages",
                views.kafka_go_committed.len().to_string(),
            ),
            ("kafka_go_aborted", aborted.to_string()),
            ("kafka_go_markers", markers.to_string()),
            (
                "kafka_go_uncommitted_same",
                (views.kafka_go_uncommitted == views.kafka_go_committed).to_string(),
            ),
        ],
    );
    Ok(())
}

/// `bench`: the cost of exactly-once, as ratios measured in one run.
async fn run_bench(cluster: &Cluster, records: usize, rounds: usize) -> Result<()> {
    println!(
        "The same read-process-write loop over {records} records (2 partitions), at-least-once vs exactly-once, {rounds} rounds:"
    );
    let runs = bench::run(cluster, records, rounds).await?;
    println!("  mode           commit every  records/s (each round)   median  commits");
    let mut fields = Vec::new();
    for interval in [Duration::from_millis(100), Duration::from_secs(1)] {
        for exactly_once in [false, true] {
            let mine: Vec<&bench::Run> = runs
                .iter()
                .filter(|r| r.exactly_once == exactly_once && r.commit_every == interval)
                .collect();
            let each: Vec<String> = mine
                .iter()
                .map(|r| format!("{:.0}", r.per_second()))
                .collect();
            let commits: Vec<String> = mine.iter().map(|r| r.commits.to_string()).collect();
            println!(
                "  {:<14} {:>12?}  {:<23}  {:>6.0}  {}",
                if exactly_once {
                    "exactly-once"
                } else {
                    "at-least-once"
                },
                interval,
                each.join(" "),
                bench::median(&runs, exactly_once, interval).unwrap_or_default(),
                commits.join(" ")
            );
        }
    }
    for (key, interval) in [
        ("ratio_100ms", Duration::from_millis(100)),
        ("ratio_1s", Duration::from_secs(1)),
    ] {
        if let Some(ratio) = bench::ratio(&runs, interval) {
            println!("  exactly-once / at-least-once at {interval:?} (medians): {ratio:.2}");
            fields.push((key, format!("{ratio:.2}")));
        }
    }
    summary("bench", &fields);
    Ok(())
}

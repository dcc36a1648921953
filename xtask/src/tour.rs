//! `cargo xtask tour`: the whole course, chapter by chapter, against a broker.

use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::{kafka, paths, quickstart, secure};

/// The chapters in the order of the book. Every directory under `chapters/`
/// must be listed here, so a new chapter cannot silently miss the tour.
pub const CHAPTERS: &[(&str, &str)] = &[
    (QUICKSTART, "最小可运行示例（五分钟上手）"),
    ("ch01-architecture", "一、Kafka 核心架构速览"),
    ("ch02-topic-admin", "二.1 创建 Topic"),
    ("ch02-writer", "二.2 生产者：配置与发送"),
    ("ch02-balancers", "二.3 分区策略"),
    ("ch02-acks", "二.4 acks 与可靠性"),
    ("ch02-idempotence", "二.5 幂等生产者"),
    ("ch03-reader", "三.1 消费者与消费者组"),
    ("ch03-manual-commit", "三.2 位移管理"),
    ("ch03-rebalance", "三.3 Rebalance"),
    ("ch04-serialization", "四.1 与 四.2 消息格式"),
    ("ch04-error-handling", "四.3 错误处理"),
    ("ch04-transactions", "四.4 事务与精确一次"),
    ("ch04-observability", "四.5 可观测性"),
    ("ch04-security", "四.6 安全：TLS、SASL/SCRAM 与 ACL"),
    ("ch04-tuning", "四.7 配置调优"),
    ("ch05-pipeline", "五、综合实战：高吞吐数据管道"),
];

/// The quickstart is a project of its own, excluded from the workspace, as a
/// reader's project would be: the tour runs its two programs with
/// `--manifest-path` instead of `-p`.
const QUICKSTART: &str = "ch00-quickstart";

/// The chapter that runs on the secured node (`kafka up --secure`): the
/// tour starts that node for it if it is not running, and stops it after.
const SECURE_CHAPTER: &str = "ch04-security";

/// Chapters that need the three-node cluster.
const THREE_NODE_CHAPTERS: &[&str] = &["ch02-acks"];

#[derive(clap::Args)]
pub struct TourArgs {
    /// Leave a broker that the tour started running afterwards
    #[arg(long)]
    keep_broker: bool,
}

/// The chapters that exist in this checkout, in book order.
pub fn present_chapters() -> Result<Vec<(&'static str, &'static str)>> {
    let dir = paths::workspace().join("chapters");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    if let Some(unknown) = on_disk
        .iter()
        .find(|name| !CHAPTERS.iter().any(|(c, _)| c == name))
    {
        bail!(
            "chapters/{unknown} is not in xtask's CHAPTERS list (xtask/src/tour.rs): add it in book order"
        );
    }
    Ok(CHAPTERS
        .iter()
        .copied()
        .filter(|(c, _)| on_disk.iter().any(|d| d == c))
        .collect())
}

/// How one chapter of the tour went.
enum Outcome {
    Ok,
    Failed,
    /// Needs three brokers and the tour does not manage the cluster.
    NeedsThreeBrokers,
    /// Ran on the mock cluster and stopped at a step that needs Apache Kafka
    /// (the chapter exited with `EXIT_NEEDS_REAL_BROKER`).
    NeedsRealBroker,
}

/// The exit code a chapter uses for "this step needs a real broker"
/// (`tutorial_support::EXIT_NEEDS_REAL_BROKER`; xtask does not depend on
/// the support crate, so a unit test below keeps the two in step).
const EXIT_NEEDS_REAL_BROKER: i32 = 3;

pub fn run(args: &TourArgs) -> Result<ExitCode> {
    let chapters = present_chapters()?;
    build_chapters()?;
    let (mut brokers, started) = choose_brokers()?;
    let mut results = Vec::new();
    for (chapter, title) in &chapters {
        println!("\n======== {chapter}: {title} ========");
        let begun = Instant::now();
        let needs_three = THREE_NODE_CHAPTERS.contains(chapter);
        if needs_three && brokers == kafka::bootstrap(1) {
            if !started {
                println!(
                    "needs three brokers; this broker was not started by the tour, so it is left alone.\n\
                     Run it with: cargo xtask kafka down && cargo xtask kafka up --nodes 3 && \
                     KAFKA_BROKERS={} cargo run -p {chapter}",
                    kafka::bootstrap(3)
                );
                results.push((*chapter, Outcome::NeedsThreeBrokers, begun.elapsed()));
                continue;
            }
            println!("(switching to the three-node cluster for this chapter)");
            kafka::down(false)?;
            kafka::up(3)?;
            brokers = kafka::bootstrap(3);
        }
        let mut secure_started = false;
        if *chapter == SECURE_CHAPTER && brokers != "mock" && secure::running_pid().is_none() {
            println!("(starting the secured node for this chapter: cargo xtask kafka up --secure)");
            match secure::up() {
                Ok(_) => secure_started = true,
                Err(error) => {
                    println!("the secured node could not start: {error:#}");
                    results.push((*chapter, Outcome::NeedsRealBroker, begun.elapsed()));
                    continue;
                }
            }
        }
        let outcome = if *chapter == QUICKSTART {
            run_quickstart(&brokers)?
        } else {
            let status = Command::new(chapter_binary(chapter))
                .env("KAFKA_BROKERS", &brokers)
                .current_dir(paths::workspace())
                .status()?;
            match status.code() {
                Some(0) => Outcome::Ok,
                Some(EXIT_NEEDS_REAL_BROKER) if brokers == "mock" => Outcome::NeedsRealBroker,
                _ => Outcome::Failed,
            }
        };
        if secure_started {
            secure::down(false)?;
        }
        results.push((*chapter, outcome, begun.elapsed()));
        if needs_three && started {
            println!("(back to the one-node cluster)");
            kafka::down(false)?;
            kafka::up(1)?;
            brokers = kafka::bootstrap(1);
        }
    }
    if started && !args.keep_broker {
        kafka::down(false)?;
    }
    println!(
        "\n======== tour summary ({} chapter(s), brokers: {brokers}) ========",
        results.len()
    );
    for (chapter, outcome, elapsed) in &results {
        let label = match outcome {
            Outcome::Ok => "ok",
            Outcome::Failed => "FAIL",
            Outcome::NeedsThreeBrokers => "NOT RUN (needs 3 brokers)",
            Outcome::NeedsRealBroker => "needs a real broker",
        };
        println!("{label:<25} {chapter:<22} {:>6.1} s", elapsed.as_secs_f64());
    }
    let failed = results
        .iter()
        .filter(|(_, o, _)| matches!(o, Outcome::Failed))
        .count();
    let needs_real = results
        .iter()
        .filter(|(_, o, _)| matches!(o, Outcome::NeedsRealBroker | Outcome::NeedsThreeBrokers))
        .count();
    println!(
        "{} ok, {failed} failed, {needs_real} need a real broker or three",
        results.len() - failed - needs_real
    );
    if needs_real > 0 {
        println!(
            "To run every chapter on Apache Kafka: cargo xtask kafka up   (Java 17+ and Maven; or `docker compose up -d`)"
        );
    }
    let missing: Vec<_> = CHAPTERS
        .iter()
        .filter(|(c, _)| !chapters.iter().any(|(p, _)| p == c))
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        println!("not written yet: {}", missing.join(", "));
    }
    // A chapter that needs something this machine lacks is not a failure.
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Every chapter's program, built in one `cargo build` over the workspace
/// (the test phase's selection: all but the exercises). Not `cargo run -p`
/// per chapter: Cargo resolves the features of shared dependencies for the
/// packages it is asked to build, so each chapter built alone rebuilt the
/// support crates with its own set — in CI about half of the tour's time.
fn build_chapters() -> Result<()> {
    println!("==> cargo build --workspace --exclude 'ex-*' --bins (every chapter's program, once)");
    let started = Instant::now();
    let status = Command::new(cargo())
        .args([
            "build",
            "--quiet",
            "--locked",
            "--workspace",
            "--exclude",
            "ex-*",
            "--bins",
        ])
        .current_dir(paths::workspace())
        .status()?;
    if !status.success() {
        bail!("building the chapters failed ({status})");
    }
    println!("    built in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Where [`build_chapters`] put `chapter`'s program; the tour runs it as
/// `cargo run -p CHAPTER` would, from the workspace root.
fn chapter_binary(chapter: &str) -> std::path::PathBuf {
    quickstart::target_dir().join("debug").join(chapter)
}

/// The quickstart's producer, then its consumer, the way the page runs them,
/// on the default topic `quickstart` (a second tour shows the group's
/// committed offsets at work: the consumer prints only the new records).
/// The build shares the workspace's target directory and its librdkafka.
fn run_quickstart(brokers: &str) -> Result<Outcome> {
    if brokers == "mock" {
        println!("the quickstart has no mock-cluster mode: it needs a real broker");
        return Ok(Outcome::NeedsRealBroker);
    }
    let manifest = paths::workspace().join(quickstart::DIR).join("Cargo.toml");
    for bin in ["producer", "consumer"] {
        println!("$ cargo run --bin {bin}");
        let status = Command::new(cargo())
            .args(["run", "--quiet", "--locked", "--manifest-path"])
            .arg(&manifest)
            .args(["--bin", bin])
            .env("KAFKA_BROKERS", brokers)
            .env("CARGO_TARGET_DIR", quickstart::target_dir())
            .status()?;
        if !status.success() {
            return Ok(Outcome::Failed);
        }
    }
    Ok(Outcome::Ok)
}

/// `KAFKA_BROKERS` if set; else a broker on localhost:9092; else one started
/// now from the Maven jars; else, without Java, the mock cluster, loudly.
fn choose_brokers() -> Result<(String, bool)> {
    if let Some(brokers) = kafka::existing_brokers()? {
        return Ok((brokers, false));
    }
    match kafka::up(1) {
        Ok(_) => Ok((kafka::bootstrap(1), true)),
        Err(error) => {
            let default = kafka_layout::ports::default_brokers();
            println!(
                "\n*** No broker answers on {default} and none could be started:\n    {error:#}\n\
                 *** The tour runs on librdkafka's in-process MOCK cluster instead. It is not\n\
                 *** Apache Kafka; chapters that need a real broker will say so and stop.\n"
            );
            Ok(("mock".into(), false))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_quickstart_is_its_own_project() {
        let manifest = std::fs::read_to_string(crate::paths::workspace().join("Cargo.toml"))
            .expect("the workspace's Cargo.toml");
        assert!(
            manifest.contains(&format!("exclude = [\"{}\"]", crate::quickstart::DIR)),
            "the workspace must exclude {}: the tour runs it with --manifest-path",
            crate::quickstart::DIR
        );
        assert_eq!(
            format!("chapters/{}", super::QUICKSTART),
            crate::quickstart::DIR
        );
    }

    #[test]
    fn needs_real_broker_code_matches_the_support_crate() {
        let support =
            std::fs::read_to_string(crate::paths::workspace().join("shared/support/src/lib.rs"))
                .expect("shared/support/src/lib.rs");
        assert!(
            support.contains(&format!(
                "pub const EXIT_NEEDS_REAL_BROKER: u8 = {};",
                super::EXIT_NEEDS_REAL_BROKER
            )),
            "xtask's EXIT_NEEDS_REAL_BROKER must equal tutorial_support's"
        );
    }
}

//! 四.3 错误处理 — classify errors, fail fast where retrying cannot help, and
//! move poison records to a dead-letter topic instead of stopping.
//!
//! Run: `cargo run -p ch04-error-handling` against a broker on localhost:9092.
//! After each step it prints one `summary:` line for the tests.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use ch04_error_handling::lab::link;
use ch04_error_handling::lab::outage::watch_outage;
use ch04_error_handling::lesson::classify::{Strategy, classify, producer_config, send, send_to};
use ch04_error_handling::lesson::dead_letter::{consume_with_dlq, consumer};
use ch04_error_handling::lesson::retry_topic::{self, Failure, Policy, run_with_retry_topic};
use ch04_error_handling::lesson::shutdown::{Closed, close_within};
use clap::Parser;
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use tutorial_lab::unique_name;
use tutorial_support::topics::{delete_topic, ensure_topic};
use tutorial_support::{BrokerArgs, Cluster, init_tracing, summary};

/// 四.3 错误处理: which errors to retry, which to fail fast on, dead-letter and retry topics, and a consumer that loses every broker
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Attempts per record before it goes to the dead-letter topic
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    attempts: u32,
    /// How long a record waits in the retry topic before it is tried again (e.g. 1s, 500ms)
    #[arg(long, default_value = "1s", value_parser = parse_delay)]
    retry_delay: Duration,
}

fn parse_delay(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected e.g. 1s or 500ms"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        _ => Err(format!("{text:?}: the unit must be s or ms")),
    }
    .and_then(|d| {
        (d <= Duration::from_secs(60))
            .then_some(d)
            .ok_or_else(|| format!("{text:?}: at most 60 s (max.poll.interval.ms is 5 min)"))
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    show_strategies();
    // The mock cluster creates every topic a client asks about, so ② could
    // not show a missing topic; ③ to ⑤ build on ②'s broker.
    cluster.require_real(
        "a topic that stays missing (step ②: the mock creates every topic asked for)",
    )?;
    unknown_topic(&cluster).await?;
    dead_letters(&cluster, args.attempts).await?;
    delayed_retries(&cluster, args.retry_delay).await?;
    if link::proxied_listener_present() {
        consumer_outage(&cluster).await
    } else {
        println!(
            "\n⑤ Not run: the outage demo cuts a relay in front of the broker's PROXIED listener \
             ({}), which `cargo xtask kafka up` and the docker-compose broker provide.",
            link::proxied_address()
        );
        summary("consumer-outage", &[("run", "false".into())]);
        Ok(())
    }
}

/// ① The strategy for each error this chapter discusses.
fn show_strategies() {
    use RDKafkaErrorCode as E;
    println!("① What to do about an error:");
    for code in [
        E::QueueFull,
        E::BrokerTransportFailure,
        E::AllBrokersDown,
        E::NotEnoughReplicas,
        E::MessageTimedOut,
        E::MessageSizeTooLarge,
        E::UnknownTopicOrPartition,
        E::TopicAuthorizationFailed,
        E::Fatal,
    ] {
        let strategy = match classify(&KafkaError::MessageProduction(code)) {
            Strategy::LibrdkafkaRetries => "librdkafka retries (bounded by message.timeout.ms)",
            Strategy::BackOff => "back off, slow the source, send again",
            Strategy::FailFast => "fail fast: fix input, config or cluster",
            Strategy::Recreate => "client unusable: recreate it",
            Strategy::RetriesExhausted => "retries used up: alert or set the record aside",
        };
        println!("  {:<28} {strategy}", format!("{code:?}"));
    }
    let strategy = |code| format!("{:?}", classify(&KafkaError::MessageProduction(code)));
    summary(
        "classify",
        &[
            ("QueueFull", strategy(E::QueueFull)),
            ("AllBrokersDown", strategy(E::AllBrokersDown)),
            ("NotEnoughReplicas", strategy(E::NotEnoughReplicas)),
            ("MessageTimedOut", strategy(E::MessageTimedOut)),
            ("MessageSizeTooLarge", strategy(E::MessageSizeTooLarge)),
            (
                "UnknownTopicOrPartition",
                strategy(E::UnknownTopicOrPartition),
            ),
            ("Fatal", strategy(E::Fatal)),
        ],
    );
}

/// ② A topic that does not exist: with the defaults, only "timed out";
/// with a short metadata propagation wait, the real reason.
async fn unknown_topic(cluster: &Cluster) -> Result<()> {
    let topic = unique_name("no-such-topic");
    println!("\n② Writing to {topic} (it does not exist; auto-creation is off):");
    let mut fields = Vec::new();
    for (key, label, propagation) in [
        ("defaults", "defaults", None),
        (
            "propagation_2s",
            "topic.metadata.propagation.max.ms=2000",
            Some(2000),
        ),
    ] {
        let started = std::time::Instant::now();
        let result = send_to(cluster.bootstrap_servers(), &topic, 5000, propagation).await;
        let seconds = started.elapsed().as_secs_f64();
        match &result {
            Ok(()) => println!("  {label}: delivered?! (is auto.create.topics.enable on?)"),
            Err(error) => println!(
                "  {label}: failed after {seconds:.1} s: {error} → {:?}",
                classify(error)
            ),
        }
        let (code, strategy) = match &result {
            Ok(()) => ("delivered".to_string(), "-".to_string()),
            Err(error) => (
                error
                    .rdkafka_error_code()
                    .map_or_else(|| error.to_string(), |c| format!("{c:?}")),
                format!("{:?}", classify(error)),
            ),
        };
        fields.push((format!("{key}_error"), code));
        fields.push((format!("{key}_strategy"), strategy));
        fields.push((format!("{key}_seconds"), format!("{seconds:.1}")));
    }
    let fields: Vec<(&str, String)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    summary("unknown-topic", &fields);
    Ok(())
}

/// ③ Poison records: bounded retries, then the dead-letter topic.
async fn dead_letters(cluster: &Cluster, attempts: u32) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let topic = unique_name("ch04-orders");
    let dlq = format!("{topic}.dlq");
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    ensure_topic(cluster, &dlq, 1, 1, &[]).await?;
    let producer: FutureProducer = producer_config(bootstrap, 30_000).create()?;
    for i in 0..20 {
        let payload = if i % 7 == 3 {
            format!("poison-{i}")
        } else {
            i.to_string()
        };
        send(
            &producer,
            FutureRecord::<(), _>::to(&topic).payload(&payload),
        )
        .await?;
    }
    let consumer = consumer(bootstrap, &topic, &unique_name("ch04-dlq"))?;
    let report = consume_with_dlq(&consumer, &producer, 20, attempts, |payload| {
        let _amount: u32 = std::str::from_utf8(payload)?.parse()?;
        Ok(())
    })
    .await?;
    println!("\n③ 20 records, some not numbers; {attempts} attempts each, then {dlq}:");
    println!(
        "  processed {}; dead-lettered offsets {:?}; the group committed past all of them",
        report.processed.len(),
        report.dead_lettered
    );
    summary(
        "dead-letters",
        &[
            ("records", "20".into()),
            ("attempts", attempts.to_string()),
            ("processed", report.processed.len().to_string()),
            ("dead_lettered", offsets(&report.dead_lettered)),
        ],
    );
    drop(consumer);
    delete_topic(cluster, &topic).await?;
    delete_topic(cluster, &dlq).await?;
    Ok(())
}

/// ④ Failures that time may cure: park the record in `<topic>.retry`, keep
/// going, try again when it is due; the DLQ after the last attempt.
async fn delayed_retries(cluster: &Cluster, delay: Duration) -> Result<()> {
    let bootstrap = cluster.bootstrap_servers();
    let topic = unique_name("ch04-payments");
    let (retry_topic, dlq) = (format!("{topic}.retry"), format!("{topic}.dlq"));
    for name in [&topic, &retry_topic, &dlq] {
        ensure_topic(cluster, name, 1, 1, &[]).await?;
    }
    let producer: FutureProducer = producer_config(bootstrap, 30_000).create()?;
    let payloads = [
        "ok-0", "flaky-1", "ok-2", "down-3", "ok-4", "poison-5", "ok-6",
    ];
    for payload in payloads {
        send(
            &producer,
            FutureRecord::<(), _>::to(&topic).payload(payload),
        )
        .await?;
    }
    let main = consumer(bootstrap, &topic, &unique_name("ch04-retry"))?;
    let retries = consumer(bootstrap, &retry_topic, &unique_name("ch04-retry"))?;
    let policy = Policy {
        delay,
        max_attempts: 3,
    };
    println!(
        "\n④ {} records; flaky-* fails once, down-* always, poison-* can never work; retry after {delay:?}, 3 attempts:",
        payloads.len()
    );
    let started = retry_topic::now_ms();
    let report = run_with_retry_topic(
        &main,
        &retries,
        &producer,
        &topic,
        payloads.len(),
        policy,
        |payload, attempt| match std::str::from_utf8(payload).unwrap_or("").split('-').next() {
            Some("flaky") if attempt == 1 => Err(Failure::Transient("service unavailable".into())),
            Some("down") => Err(Failure::Transient("service unavailable".into())),
            Some("poison") => Err(Failure::Poison("not a payment".into())),
            _ => Ok(()),
        },
    )
    .await?;
    for record in &report.processed {
        println!(
            "  +{:>5} ms  processed {:<8} (attempt {})",
            record.at_ms - started,
            record.payload,
            record.attempt
        );
    }
    println!(
        "  parked in {retry_topic}: {} times; dead-lettered: {:?}",
        report.parked, report.dead_lettered
    );
    let first_try = |prefix: &str| {
        report
            .processed
            .iter()
            .filter(|r| r.payload.starts_with(prefix))
            .map(|r| r.attempt.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    summary(
        "retry-topic",
        &[
            ("records", payloads.len().to_string()),
            ("processed", report.processed.len().to_string()),
            ("ok_attempts", first_try("ok")),
            ("flaky_attempts", first_try("flaky")),
            ("parked", report.parked.to_string()),
            ("dead_lettered", report.dead_lettered.join(",")),
        ],
    );
    drop((main, retries));
    for name in [&topic, &retry_topic, &dlq] {
        delete_topic(cluster, name).await?;
    }
    Ok(())
}

/// ⑤ A consumer loses every broker: what `recv()` says, and a shutdown
/// that does not wait for a coordinator that is not coming back.
async fn consumer_outage(cluster: &Cluster) -> Result<()> {
    let topic = unique_name("ch04-outage");
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    let producer: FutureProducer = producer_config(cluster.bootstrap_servers(), 30_000).create()?;
    for i in 0..40 {
        let payload = i.to_string();
        send(
            &producer,
            FutureRecord::<(), _>::to(&topic).payload(&payload),
        )
        .await?;
    }
    let mut link = link::start().await?;
    let group = unique_name("ch04-outage");
    let reader: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", link::relay_address())
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()?;
    reader.subscribe(&[&topic])?;
    for i in 0..30 {
        let message = reader.recv().await?;
        reader.store_offset_from_message(&message)?;
        if i == 9 {
            reader.commit_message(&message, CommitMode::Sync)?;
        }
    }
    println!(
        "\n⑤ Consumer: offsets 0..=29 processed, 0..=9 committed; now every broker is out of reach:"
    );
    link.cut();
    let view = watch_outage(&reader, Duration::from_secs(3)).await;
    println!(
        "  3 s of recv(): {} already-fetched records, then errors {:?} (librdkafka keeps reconnecting)",
        view.records, view.errors
    );
    let started = std::time::Instant::now();
    let closed = close_within(reader, Duration::from_secs(2)).await;
    let closed_after = started.elapsed().as_secs_f64();
    let (outcome, closed_as) = match closed {
        Closed::Committed => ("committed".to_string(), "Committed"),
        Closed::CommitFailed(error) => (format!("commit failed: {error}"), "CommitFailed"),
        Closed::GaveUp { .. } => (
            "no answer: gave up, commit left running in the background".into(),
            "GaveUp",
        ),
    };
    println!("  close_within(2 s) returned after {closed_after:.1} s: {outcome}");
    // A new member, connected directly, after the old member's session
    // expired. It only looks: no commit of its own.
    let next: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    next.subscribe(&[&topic])?;
    let resumes_at = tokio::time::timeout(Duration::from_secs(60), next.recv())
        .await
        .map_err(|_| anyhow::anyhow!("the group did not hand the partition over within 60 s"))??
        .offset();
    println!(
        "  the group resumes at offset {resumes_at}: records 10..=29 are delivered again (at least once), none lost"
    );
    let errors: Vec<String> = view.errors.iter().map(|c| format!("{c:?}")).collect();
    summary(
        "consumer-outage",
        &[
            ("run", "true".into()),
            ("processed", "30".into()),
            ("committed_through", "9".into()),
            ("fetched_after_cut", view.records.to_string()),
            ("errors", errors.join(",")),
            ("closed", closed_as.into()),
            ("closed_after_s", format!("{closed_after:.1}")),
            ("resumes_at", resumes_at.to_string()),
        ],
    );
    drop(next);
    delete_topic(cluster, &topic).await?;
    Ok(())
}

/// `[3, 10, 17]` as `3,10,17`.
fn offsets(offsets: &[i64]) -> String {
    offsets
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

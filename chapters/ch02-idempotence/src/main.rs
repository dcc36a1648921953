//! 二.5 幂等生产者 — the showcase: the idempotent producer's settings
//! (lesson), then duplicates from retries made on purpose behind the lab's
//! fault proxy, and how idempotence prevents them.
//!
//! Run: `cargo run -p ch02-idempotence` against the broker started by
//! `cargo xtask kafka up`: its PROXIED listener (localhost:9192) advertises
//! localhost:9292, where this program runs a proxy that loses answers.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use ch02_idempotence::lab::audit::RetriedBatch;
use ch02_idempotence::lab::kafka_go::{self, kafka_go_trial};
use ch02_idempotence::lab::proxy::Fate;
use ch02_idempotence::lab::{
    Outcome, Plan, Route, SlowPlan, check_proxied_listener, delete_topic, max_in_flight, trial,
};
use ch02_idempotence::{INCOMPATIBLE, SHOWN_SETTINGS, creation_error, producer_config};
use clap::Parser;
use tutorial_lab::go::GoProgram;
use tutorial_support::brokers::{proxied_advertised, proxied_listener};
use tutorial_support::topics::unique_name;
use tutorial_support::{BrokerArgs, Cluster, init_tracing, print_effective, summary};

/// 二.5 幂等生产者: lose produce answers on purpose and count the duplicates the retries store
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Prefix of the scratch topics (each experiment needs a fresh, empty one; they are deleted at the end)
    #[arg(long, default_value = "ch02-idempotence")]
    topic: String,
    /// Records per run
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    records: u32,
    /// Partitions of the scratch topic
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..=64))]
    partitions: i32,
    /// Answers to successful writes the proxy withholds per run
    #[arg(long, default_value_t = 3)]
    faults: u32,
    /// Where the proxy listens: the address the broker's PROXIED listener advertises
    #[arg(long, default_value_t = proxied_advertised(), value_name = "HOST:PORT")]
    proxy: String,
    /// The broker's PROXIED listener, where the proxy forwards to
    #[arg(long, default_value_t = proxied_listener(), value_name = "HOST:PORT")]
    proxied: String,
}

/// The slow-broker experiment: how long each answer is held, how many
/// requests each partition needs, and the runs: (idempotent, partitions,
/// records per batch).
const SLOW_ANSWER: Duration = Duration::from_millis(20);
const SLOW_REQUESTS: usize = 30;
const SLOW_RUNS: &[(bool, i32, usize)] = &[
    (false, 1, 10),
    (true, 1, 10),
    (true, 1, 5),
    (true, 1, 4),
    (true, 1, 2),
    (true, 1, 1),
    (true, 3, 10),
];

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();
    tutorial_support::exit_code(run(&args).await)
}

async fn run(args: &Args) -> Result<()> {
    let cluster = args.brokers.connect()?;
    show_settings(&cluster)?;
    cluster.require_real(
        "the fault proxy, which loses the answer to a write a real broker has made \
         (an error injected on the mock replaces the write, so a retry has nothing to duplicate)",
    )?;
    let route = Route {
        listen: args.proxy.clone(),
        proxied: args.proxied.clone(),
    };
    check_proxied_listener(&route).await?;

    let mut scratch = Vec::new();
    let result = experiments(args, &cluster, &route, &mut scratch).await;
    for topic in &scratch {
        // Best effort: a failed experiment's topic is worth deleting too.
        let _ = delete_topic(cluster.bootstrap_servers(), topic).await;
    }
    result
}

async fn experiments(
    args: &Args,
    cluster: &Cluster,
    route: &Route,
    scratch: &mut Vec<String>,
) -> Result<()> {
    show_in_flight(args, cluster, route, scratch).await?;
    let mut outcomes = Vec::new();
    for idempotent in [false, true] {
        let topic = unique_name(&format!(
            "{}-{}",
            args.topic,
            if idempotent { "idempotent" } else { "plain" }
        ));
        scratch.push(topic.clone());
        let plan = Plan {
            idempotent,
            records: args.records as usize,
            partitions: args.partitions,
            faults: args.faults,
        };
        outcomes.push(trial(cluster.bootstrap_servers(), route, &topic, plan).await?);
    }
    show_table(args, &outcomes);
    show_wire(&outcomes);
    show_kafka_go(args, cluster, route, scratch).await
}

/// ① What the config says, and what librdkafka refuses.
fn show_settings(cluster: &Cluster) -> Result<()> {
    println!("① Producer settings, read from the configuration before a producer exists:");
    for idempotent in [false, true] {
        print_effective(
            &format!("  enable.idempotence={idempotent}:"),
            &producer_config(cluster.bootstrap_servers(), idempotent),
            SHOWN_SETTINGS,
        )?;
    }
    println!(
        "  These are the values as configured. When it creates an idempotent producer, librdkafka\n  \
         caps max.in.flight.requests.per.connection at 5 (② measures what it does on the wire).\n  \
         A setting that contradicts idempotence is refused instead of adjusted:"
    );
    let (mut idempotent, mut plain) = (Vec::new(), Vec::new());
    for (key, value) in INCOMPATIBLE {
        let with = creation_error(true, key, value);
        let without = creation_error(false, key, value);
        println!(
            "  {:<44} idempotent: {}\n  {:<44} plain:      {}",
            format!("{key}={value}"),
            with.as_deref()
                .map_or("created (unexpected)".into(), |e| format!("refused: {e}")),
            "",
            without
                .as_deref()
                .map_or("created".into(), |e| format!("refused: {e}")),
        );
        // `key:value=refused|created`, e.g. `acks:1=refused`.
        let verdict = |error: &Option<String>| {
            if error.is_some() {
                "refused"
            } else {
                "created"
            }
            .to_string()
        };
        idempotent.push((format!("{key}:{value}"), verdict(&with)));
        plain.push((format!("{key}:{value}"), verdict(&without)));
    }
    summary("incompatible-idempotent", &as_fields(&idempotent));
    summary("incompatible-plain", &as_fields(&plain));
    Ok(())
}

/// Owned `(key, value)` pairs as [`summary`] fields.
fn as_fields(list: &[(String, String)]) -> Vec<(&str, String)> {
    list.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

/// ② Produce requests in flight, measured on the wire.
async fn show_in_flight(
    args: &Args,
    cluster: &Cluster,
    route: &Route,
    scratch: &mut Vec<String>,
) -> Result<()> {
    println!(
        "\n② A slow broker: the proxy holds every produce answer for {SLOW_ANSWER:?}; each partition gets \
         {SLOW_REQUESTS} requests' worth of records,\n  all enqueued at once. The most produce requests \
         waiting for an answer at the same time:\n  \
         enable.idempotence  partitions  records/request  requests  per partition  on the connection"
    );
    for &(idempotent, partitions, batch) in SLOW_RUNS {
        let topic = unique_name(&format!("{}-in-flight", args.topic));
        scratch.push(topic.clone());
        let plan = SlowPlan {
            idempotent,
            partitions,
            batch,
            requests_per_partition: SLOW_REQUESTS,
            delay: SLOW_ANSWER,
        };
        let report = max_in_flight(cluster.bootstrap_servers(), route, &topic, plan).await?;
        let records = match report.records_per_request() {
            Some((low, high)) if low == high => low.to_string(),
            Some((low, high)) => format!("{low}–{high}"),
            None => "?".into(),
        };
        println!(
            "  {idempotent:<18}  {partitions:>10}  {records:>15}  {:>8}  {:>13}  {:>17}",
            report.produce_requests(),
            report.max_in_flight_per_partition,
            report.max_in_flight,
        );
        // One step per run, e.g. `in-flight-idempotent-p3-b10`.
        let kind = if idempotent { "idempotent" } else { "plain" };
        summary(
            &format!("in-flight-{kind}-p{partitions}-b{batch}"),
            &[
                ("records_per_request", records.clone()),
                ("requests", report.produce_requests().to_string()),
                (
                    "per_partition",
                    report.max_in_flight_per_partition.to_string(),
                ),
                ("connection", report.max_in_flight.to_string()),
            ],
        );
    }
    println!(
        "  Without idempotence the limit is max.in.flight.requests.per.connection (default 1000000): every\n  \
         request is on the wire at once. With it, librdkafka 2.12 lets a partition start another request\n  \
         only while fewer than 5 of its *records* are in flight (rdkafka_broker.c): batches of 5 or more\n  \
         records mean one request per partition, smaller batches up to 5. Partitions don't wait for\n  \
         each other: 3 partitions on one broker keep 3 requests on the connection."
    );
    Ok(())
}

/// ③ The counts.
fn show_table(args: &Args, outcomes: &[Outcome]) {
    println!(
        "\n③ {} records, record n to partition n % {}, through a proxy that lets the broker write a batch and\n  \
         then withholds the answer and cuts the connection — for the first {} successful writes of each run:",
        args.records, args.partitions, args.faults
    );
    println!(
        "  enable.idempotence   sent   acknowledged   stored   duplicates   lost   in order   answers withheld"
    );
    for o in outcomes {
        println!(
            "  {:<18} {:>6} {:>14} {:>8} {:>12} {:>6} {:>10} {:>18}",
            o.plan.idempotent,
            o.sent.records,
            o.sent.acknowledged,
            o.audit.stored,
            o.audit.duplicates,
            o.audit.missing,
            if o.audit.order_kept { "yes" } else { "no" },
            o.proxy.withheld
        );
    }
    for o in outcomes {
        summary(
            if o.plan.idempotent {
                "trial-idempotent"
            } else {
                "trial-plain"
            },
            &[
                ("sent", o.sent.records.to_string()),
                ("acknowledged", o.sent.acknowledged.to_string()),
                ("stored", o.audit.stored.to_string()),
                ("duplicates", o.audit.duplicates.to_string()),
                ("lost", o.audit.missing.to_string()),
                (
                    "in_order",
                    if o.audit.order_kept { "yes" } else { "no" }.into(),
                ),
                ("withheld", o.proxy.withheld.to_string()),
            ],
        );
    }
    for o in outcomes {
        if let Some(error) = &o.sent.first_error {
            println!(
                "  enable.idempotence={}: {} record(s) failed, first error: {error}",
                o.plan.idempotent, o.sent.failed
            );
        }
    }
    println!(
        "  → The producer was told \"stored\" once per record in both runs. Without idempotence each retry\n  \
         \x20 wrote the batch again; with it, the broker recognised the retries and kept one copy.\n  \
         \x20 (\"in order\": in each partition the first copies of the records are in send order.)"
    );
}

/// ④ The evidence: producer id, epoch, sequence and offsets of every retry.
fn show_wire(outcomes: &[Outcome]) {
    println!(
        "\n④ On the wire: each batch whose answer was withheld, and every attempt to send it:"
    );
    for o in outcomes {
        println!("  enable.idempotence={}:", o.plan.idempotent);
        for batch in &o.retried {
            print_batch(batch);
        }
    }
    println!(
        "  → Without idempotence the batches carry no identity (producer id -1, sequence -1), so the\n  \
         \x20 broker appends every attempt at a new offset. With it, every attempt carries the same\n  \
         \x20 producer id, epoch and sequence, and the broker answers with the offset of the copy it has."
    );
}

fn print_batch(batch: &RetriedBatch) {
    let records = batch.attempts.first().map_or(0, |a| a.records);
    println!(
        "    partition {}, {records} records starting with #{}:",
        batch.partition, batch.first_record
    );
    for (i, a) in batch.attempts.iter().enumerate() {
        let identity = if a.producer_id < 0 {
            format!(
                "producer id {}, sequence {}",
                a.producer_id, a.base_sequence
            )
        } else {
            format!(
                "producer id {}, epoch {}, sequence {}",
                a.producer_id, a.producer_epoch, a.base_sequence
            )
        };
        let outcome = match (a.fate, a.stored_at) {
            (Fate::Withheld, Some(offset)) => {
                format!("broker: stored at offset {offset} — answer withheld")
            }
            (Fate::Relayed, Some(offset)) => {
                format!("broker: stored at offset {offset} — answered")
            }
            (Fate::Relayed, None) => "broker: error — answered".to_string(),
            (Fate::Unanswered, _) | (Fate::Withheld, None) => {
                "no answer before the connection closed".to_string()
            }
        };
        println!("      attempt {}: {identity} → {outcome}", i + 1);
    }
}

/// ⑤ kafka-go's Writer through the same proxy.
async fn show_kafka_go(
    args: &Args,
    cluster: &Cluster,
    route: &Route,
    scratch: &mut Vec<String>,
) -> Result<()> {
    println!(
        "\n⑤ kafka-go: a kafka.Writer (go/main.go) sends the same records through the same proxy:"
    );
    if !GoProgram::available() {
        println!(
            "  (not available: cannot run `go`; install Go 1.23+ to run {})",
            kafka_go::program().dir().display()
        );
        summary(
            "kafka-go",
            &[
                ("available", "no".into()),
                ("reason", "go-unavailable".into()),
            ],
        );
        return Ok(());
    }
    let topic = unique_name(&format!("{}-kafka-go", args.topic));
    scratch.push(topic.clone());
    let plan = Plan {
        idempotent: false,
        records: args.records as usize,
        partitions: args.partitions,
        faults: args.faults,
    };
    let o = kafka_go_trial(cluster.bootstrap_servers(), route, &topic, plan).await?;
    println!(
        "  WriteMessages: {}\n  sent {}, stored {}, duplicates {}, lost {}, answers withheld {}",
        if o.succeeded { "no error" } else { "failed" },
        args.records,
        o.audit.stored,
        o.audit.duplicates,
        o.audit.missing,
        o.proxy.withheld
    );
    summary(
        "kafka-go",
        &[
            ("succeeded", if o.succeeded { "yes" } else { "no" }.into()),
            ("sent", args.records.to_string()),
            ("stored", o.audit.stored.to_string()),
            ("duplicates", o.audit.duplicates.to_string()),
            ("lost", o.audit.missing.to_string()),
            ("withheld", o.proxy.withheld.to_string()),
        ],
    );
    for line in o.output.lines().filter(|_| !o.succeeded) {
        println!("  go: {line}");
    }
    for batch in &o.retried {
        print_batch(batch);
    }
    println!(
        "  → kafka-go retries a batch whose answer it did not get, like librdkafka, but it has no\n  \
         \x20 idempotent producer (segmentio/kafka-go#233): nothing lets the broker recognise the retry."
    );
    Ok(())
}

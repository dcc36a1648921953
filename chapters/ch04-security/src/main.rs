//! 四.6 安全 — TLS, SASL/SCRAM and ACLs on the secured node.
//!
//! `cargo run -p ch04-security` (the node first: `cargo xtask kafka up --secure`):
//! ① five ways to get the connection wrong, each failing fast with
//! librdkafka's reason; ② an authenticated user without ACLs writes and
//! reads nothing; ③ after the admin grants the ACLs, the same clients work;
//! ④ a user allowed one topic cannot read another, create topics or change
//! ACLs. `cargo run --release -p ch04-security -- bench`: what TLS costs.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ch04_security::lab::acls::{self, Resource};
use ch04_security::lab::{SecureNode, bench};
use ch04_security::lesson::{
    Login, SECURITY_KEYS, check_login, consume_counted, create_topic, produce_counted,
    secure_config,
};
use clap::{Parser, Subcommand};
use kafka_layout::secure::{ADMIN, ALICE, BOB};
use rdkafka::ClientConfig;
use tutorial_support::topics::unique_name;
use tutorial_support::{
    BrokerArgs, EXIT_NEEDS_REAL_BROKER, SupportError, init_tracing, print_effective, summary,
};

/// 四.6 安全: TLS, SASL/SCRAM-SHA-512 and ACLs on the secured node (cargo xtask kafka up --secure)
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Step>,
    /// The plaintext broker (the tutorial broker): only `bench` uses it
    #[command(flatten)]
    brokers: BrokerArgs,
    /// Records per client in the demonstration
    #[arg(long, default_value_t = 10)]
    records: usize,
}

#[derive(Subcommand)]
enum Step {
    /// The demonstration (the default): refused logins, ACLs missing, granted, and limited
    Demo,
    /// Log in as your application would: everything from the environment (KAFKA_SECURE_BROKERS,
    /// KAFKA_SSL_CA_LOCATION, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)
    Connect,
    /// TLS vs plaintext: throughput and client CPU per million records, producer and consumer
    Bench {
        /// Records per measurement
        #[arg(long, default_value_t = 300_000)]
        records: u64,
        /// Bytes per record
        #[arg(long, default_value_t = 512)]
        size: usize,
        /// Rounds (the order of plaintext and TLS alternates; the rounds are added up)
        #[arg(long, default_value_t = 2)]
        rounds: u32,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    if cli
        .brokers
        .brokers
        .trim()
        .eq_ignore_ascii_case(tutorial_support::brokers::MOCK)
    {
        return tutorial_support::exit_code(Err(SupportError::NeedsRealBroker {
            what: "the secured node: TLS, SCRAM and ACLs (start it with `cargo xtask kafka up --secure`)"
                .into(),
        }
        .into()));
    }
    if matches!(cli.command, Some(Step::Connect)) {
        return tutorial_support::exit_code(connect_from_env());
    }
    let node = match SecureNode::find() {
        Ok(node) => node,
        Err(missing) => {
            eprintln!("needs the secured node: {missing}");
            return ExitCode::from(EXIT_NEEDS_REAL_BROKER);
        }
    };
    let result = match cli.command.unwrap_or(Step::Demo) {
        Step::Demo => demo(&node, cli.records).await,
        Step::Connect => unreachable!("handled above"),
        Step::Bench {
            records,
            size,
            rounds,
        } => run_bench(&node, &cli.brokers, records, size, rounds).await,
    };
    tutorial_support::exit_code(result)
}

/// What an application does: the login from the environment, checked once.
fn connect_from_env() -> Result<()> {
    let login = Login::from_env()?;
    let config = secure_config(&login);
    print_effective(
        "Client settings from the environment:",
        &config,
        SECURITY_KEYS,
    )?;
    let brokers = check_login(&config, Duration::from_secs(30))
        .with_context(|| format!("logging in to {} as {}", login.bootstrap, login.username))?;
    println!("logged in as {}: {brokers} broker(s)", login.username);
    summary(
        "connect",
        &[
            ("user", login.username.clone()),
            ("brokers", brokers.to_string()),
        ],
    );
    Ok(())
}

fn kind(error: &impl std::fmt::Debug) -> String {
    format!("{error:?}")
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn demo(node: &SecureNode, records: usize) -> Result<()> {
    let alice = node.login(ALICE)?;
    let admin = secure_config(&node.login(ADMIN)?);
    print_effective(
        "Client settings of user alice (sasl.password is set, never printed):",
        &secure_config(&alice),
        SECURITY_KEYS,
    )?;

    println!("\n① Five ways to get it wrong; each fails fast with librdkafka's reason:");
    let mut plaintext = secure_config(&alice);
    plaintext.set("security.protocol", "plaintext");
    let mut system_ca = alice.clone();
    system_ca.ca_location = None;
    let mut by_ip = alice.clone();
    by_ip.bootstrap = node.bootstrap.replace("localhost", "127.0.0.1");
    let wrong_password = Login::new(&node.bootstrap, Some(node.ca.clone()), ALICE, "not-it");
    let unknown_user = Login::new(&node.bootstrap, Some(node.ca.clone()), "mallory", "x");
    let cases: [(&str, ClientConfig); 5] = [
        ("plaintext", plaintext),
        ("system-ca", secure_config(&system_ca)),
        ("ip-address", secure_config(&by_ip)),
        ("wrong-password", secure_config(&wrong_password)),
        ("unknown-user", secure_config(&unknown_user)),
    ];
    for (case, config) in cases {
        let started = Instant::now();
        let outcome = check_login(&config, Duration::from_secs(30));
        let ms = started.elapsed().as_millis();
        match &outcome {
            Ok(brokers) => println!("  {case:<15} connected?! ({brokers} broker(s))"),
            Err(error) => println!("  {case:<15} {ms:>5} ms  {error}"),
        }
        summary(
            &format!("refused-{case}"),
            &[
                ("refused", outcome.is_err().to_string()),
                ("kind", outcome.as_ref().err().map(kind).unwrap_or_default()),
                ("ms", ms.to_string()),
            ],
        );
    }
    let brokers = check_login(&secure_config(&alice), Duration::from_secs(30))?;
    println!(
        "  {:<15} logged in as alice; {brokers} broker(s)",
        "correct"
    );

    println!("\n② alice is authenticated but has no ACLs ({records} records each way):");
    let topic = unique_name("secure-orders");
    let group = unique_name("secure-billing");
    create_topic(&admin, &topic, 1)
        .await
        .map_err(|code| anyhow::anyhow!("admin could not create {topic}: {code:?}"))?;
    let config = secure_config(&alice);
    let produced = produce_counted(&config, &topic, records).await;
    let consumed = consume_counted(&config, &topic, &group, records, Duration::from_secs(20)).await;
    print_outcomes(&produced, &consumed);
    summary(
        "no-acls",
        &[
            ("produced", produced.delivered.to_string()),
            ("produce_error", error_name(&produced.error)),
            ("consumed", consumed.records.to_string()),
            ("consume_error", error_name(&consumed.error)),
        ],
    );

    println!(
        "\n③ the admin grants alice WRITE and READ on {topic} and READ on group {group} (kafka-acls):"
    );
    acls::grant(node, ALICE, &["Write", "Read"], &[Resource::Topic(&topic)]).await?;
    acls::grant(node, ALICE, &["Read"], &[Resource::Group(&group)]).await?;
    let produced = acls::produce_when_allowed(&config, &topic, records).await;
    let consumed = consume_counted(&config, &topic, &group, records, Duration::from_secs(30)).await;
    print_outcomes(&produced, &consumed);
    summary(
        "granted",
        &[
            ("produced", produced.delivered.to_string()),
            ("consumed", consumed.records.to_string()),
            ("consume_error", error_name(&consumed.error)),
        ],
    );

    println!("\n④ bob may read {topic} (and use his group), nothing else:");
    let bob = secure_config(&node.login(BOB)?);
    let bob_group = unique_name("secure-bob");
    // READ is an operation of both resource types: one call grants both.
    let resources = [Resource::Topic(&topic), Resource::Group(&bob_group)];
    acls::grant(node, BOB, &["Read"], &resources).await?;
    let other = unique_name("secure-payroll");
    create_topic(&admin, &other, 1)
        .await
        .map_err(|code| anyhow::anyhow!("admin could not create {other}: {code:?}"))?;
    let secret = produce_counted(&admin, &other, records).await;
    let allowed = consume_counted(&bob, &topic, &bob_group, records, Duration::from_secs(30)).await;
    let denied = consume_counted(&bob, &other, &bob_group, records, Duration::from_secs(20)).await;
    let create = create_topic(&bob, &unique_name("secure-bob-new"), 1).await;
    let alter = acls::run_as(
        node,
        BOB,
        &acls::grant_args(BOB, &["Read"], &[Resource::Topic(&other)]),
    )
    .await
    .context("kafka-acls as bob")?;
    let alter_error = alter
        .text()
        .lines()
        .find(|l| l.contains("Exception") || l.contains("Error"))
        .unwrap_or("")
        .trim()
        .to_string();
    println!(
        "  read {topic}: {} records; read {other} ({} written by admin): {} records, {}",
        allowed.records,
        secret.delivered,
        denied.records,
        error_name(&denied.error)
    );
    println!("  create a topic: {create:?}");
    println!(
        "  kafka-acls --add as bob: exit {}; {alter_error}",
        alter.status.code().unwrap_or(-1)
    );
    summary(
        "bob",
        &[
            ("read_allowed", allowed.records.to_string()),
            ("read_other", denied.records.to_string()),
            ("read_other_error", error_name(&denied.error)),
            ("create_topic", format!("{:?}", create.err())),
            ("alter_acls_ok", alter.success().to_string()),
        ],
    );
    Ok(())
}

fn error_name(error: &Option<rdkafka::error::KafkaError>) -> String {
    error
        .as_ref()
        .and_then(|e| e.rdkafka_error_code())
        .map(|code| format!("{code:?}"))
        .unwrap_or_else(|| "none".into())
}

fn print_outcomes(
    produced: &ch04_security::lesson::Produced,
    consumed: &ch04_security::lesson::Consumed,
) {
    println!(
        "  produced {} record(s){}",
        produced.delivered,
        produced
            .error
            .as_ref()
            .map(|e| format!("; first error: {e}"))
            .unwrap_or_default()
    );
    println!(
        "  consumed {} record(s){}",
        consumed.records,
        consumed
            .error
            .as_ref()
            .map(|e| format!("; stopped by: {e}"))
            .unwrap_or_default()
    );
}

async fn run_bench(
    node: &SecureNode,
    brokers: &BrokerArgs,
    records: u64,
    size: usize,
    rounds: u32,
) -> Result<()> {
    let cluster = brokers.connect()?;
    cluster.require_real("the TLS cost benchmark (it measures real brokers)")?;
    let mut plain = ClientConfig::new();
    plain.set("bootstrap.servers", cluster.bootstrap_servers());
    let tls = secure_config(&node.login(ADMIN)?);
    println!(
        "{records} records of {size} B per measurement, acks=all, linger.ms=5, no compression, \
         one partition, {rounds} round(s);\n\
         plaintext: {} — SASL_SSL: {} (TLS + SCRAM-SHA-512)\n",
        cluster.bootstrap_servers(),
        node.bootstrap
    );
    // Warm up both brokers (JIT) and both client paths, uncounted.
    for config in [&plain, &tls] {
        let topic = unique_name("secure-bench-warmup");
        create_topic(config, &topic, 1)
            .await
            .map_err(|code| anyhow::anyhow!("creating {topic}: {code:?}"))?;
        let (c, t, n) = (config.clone(), topic.clone(), (records / 5).max(1));
        tokio::task::spawn_blocking(move || {
            bench::produce(&c, &t, n, size).and_then(|_| bench::consume(&c, &t, n))
        })
        .await??;
    }
    println!(
        "(warm-up done: {} records each way per listener, not counted)",
        (records / 5).max(1)
    );
    // Alternate the order each round, so neither side always runs first
    // on a warmer (or busier) machine; add up the rounds.
    let mut totals = [[bench::Measured::default(); 2]; 2]; // [plaintext, tls][producer, consumer]
    for round in 1..=rounds {
        let order = if round % 2 == 1 { [0, 1] } else { [1, 0] };
        for side in order {
            let (label, config) = if side == 0 {
                ("plaintext", &plain)
            } else {
                ("sasl_ssl", &tls)
            };
            let topic = unique_name(&format!("secure-bench-{label}"));
            create_topic(config, &topic, 1)
                .await
                .map_err(|code| anyhow::anyhow!("creating {topic}: {code:?}"))?;
            let (c, t) = (config.clone(), topic.clone());
            let produced =
                tokio::task::spawn_blocking(move || bench::produce(&c, &t, records, size))
                    .await??;
            let (c, t) = (config.clone(), topic.clone());
            let consumed =
                tokio::task::spawn_blocking(move || bench::consume(&c, &t, records)).await??;
            for (which, m) in [("producer", produced), ("consumer", consumed)] {
                println!(
                    "  round {round} {label:<9} {which:<8} {:>9.0} records/s  {:>6.2} CPU s per million records",
                    m.records_per_second(),
                    m.cpu_per_million()
                );
            }
            totals[side][0].add(produced);
            totals[side][1].add(consumed);
        }
    }
    let [[plain_p, plain_c], [tls_p, tls_c]] = totals;
    println!("\nall rounds added up:");
    for (side, plain, tls) in [("producer", plain_p, tls_p), ("consumer", plain_c, tls_c)] {
        let throughput = tls.records_per_second() / plain.records_per_second();
        let cpu = tls.cpu_per_million() / plain.cpu_per_million();
        println!(
            "  {side}: TLS throughput = {throughput:.2} × plaintext; TLS client CPU per record = {cpu:.2} × plaintext"
        );
        summary(
            &format!("bench-{side}"),
            &[
                ("plain_rps", format!("{:.0}", plain.records_per_second())),
                ("tls_rps", format!("{:.0}", tls.records_per_second())),
                ("throughput_ratio", format!("{throughput:.2}")),
                (
                    "plain_cpu_s_per_m",
                    format!("{:.2}", plain.cpu_per_million()),
                ),
                ("tls_cpu_s_per_m", format!("{:.2}", tls.cpu_per_million())),
                ("cpu_ratio", format!("{cpu:.2}")),
            ],
        );
    }
    Ok(())
}

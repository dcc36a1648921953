//! Short scenes on the real broker, each returning what it observed:
//! visibility by isolation level, zombie fencing, the last stable offset,
//! and bad input to the transactional API.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use tutorial_support::Cluster;
use tutorial_support::topics::{delete_topic, ensure_topic, unique_name};

use super::audit::{EndIsNotAnError, read_to_end};
use crate::lesson::isolation::{self, Ends};
use crate::lesson::producer::{self, CALL_TIMEOUT, Class, classify};

const READ_LIMIT: Duration = Duration::from_secs(30);

/// Runs `body(bootstrap, topic)` off the async runtime on a fresh
/// one-partition topic, and deletes the topic afterwards.
async fn on_topic<T: Send + 'static>(
    cluster: &Cluster,
    prefix: &str,
    body: impl FnOnce(&str, &str) -> Result<T> + Send + 'static,
) -> Result<T> {
    let topic = unique_name(prefix);
    ensure_topic(cluster, &topic, 1, 1, &[]).await?;
    let (bootstrap, name) = (cluster.bootstrap_servers().to_string(), topic.clone());
    let outcome = tokio::task::spawn_blocking(move || body(&bootstrap, &name)).await?;
    delete_topic(cluster, &topic).await?;
    outcome
}

fn send(producer: &BaseProducer, topic: &str, payload: &str) -> Result<()> {
    producer
        .send(BaseRecord::<(), _>::to(topic).payload(payload))
        .map_err(|(error, _)| error)
        .with_context(|| format!("sending {payload}"))
}

fn payloads(seen: Vec<super::audit::Seen>) -> Vec<String> {
    seen.into_iter().map(|s| s.payload).collect()
}

/// What each reader saw in the visibility scene.
#[derive(Debug, Clone)]
pub struct Visibility {
    pub committed_while_open: Vec<String>,
    pub uncommitted_while_open: Vec<String>,
    pub ends_while_open: Ends,
    pub committed_after: Vec<String>,
    pub ends_after: Ends,
}

/// One committed, one aborted and one open transaction (3 records each),
/// read at both isolation levels; then the open one commits.
pub async fn visibility(cluster: &Cluster) -> Result<Visibility> {
    on_topic(cluster, "ch04-txn-visibility", |bootstrap, topic| {
        let id = unique_name("ch04-txn-visibility");
        let producer = producer::create(&producer::producer_config(bootstrap, &id))?;
        for (name, ending) in [
            ("committed", Some(true)),
            ("aborted", Some(false)),
            ("open", None),
        ] {
            producer.begin_transaction()?;
            for i in 0..3 {
                send(&producer, topic, &format!("{name}-{i}"))?;
            }
            producer.flush(CALL_TIMEOUT)?;
            match ending {
                Some(true) => producer.commit_transaction(CALL_TIMEOUT)?,
                Some(false) => producer.abort_transaction(CALL_TIMEOUT)?,
                None => {}
            }
        }
        let committed_while_open =
            payloads(read_to_end(bootstrap, topic, "read_committed", READ_LIMIT)?);
        let uncommitted_while_open = payloads(read_to_end(
            bootstrap,
            topic,
            "read_uncommitted",
            READ_LIMIT,
        )?);
        let ends_while_open = isolation::ends(bootstrap, topic, 0)?;
        producer.commit_transaction(CALL_TIMEOUT)?;
        let committed_after =
            payloads(read_to_end(bootstrap, topic, "read_committed", READ_LIMIT)?);
        let ends_after = isolation::ends(bootstrap, topic, 0)?;
        Ok(Visibility {
            committed_while_open,
            uncommitted_while_open,
            ends_while_open,
            committed_after,
            ends_after,
        })
    })
    .await
}

/// What the zombie met.
#[derive(Debug, Clone)]
pub struct Fencing {
    /// The error the older instance's commit returned, as printed.
    pub error: String,
    /// Its librdkafka code, e.g. `Fenced`.
    pub code: String,
    pub class: Class,
    /// The error its next `send` returned, if any.
    pub send_after: Option<String>,
    pub committed: Vec<String>,
    pub uncommitted: Vec<String>,
}

/// Two instances with one `transactional.id`: the second one's
/// `init_transactions` fences the first, whose late writes never show.
pub async fn fencing(cluster: &Cluster) -> Result<Fencing> {
    on_topic(cluster, "ch04-txn-fencing", |bootstrap, topic| {
        let config = producer::producer_config(bootstrap, &unique_name("ch04-txn-zombie"));
        let old = producer::create(&config)?;
        old.begin_transaction()?;
        send(&old, topic, "old-0")?;
        old.flush(CALL_TIMEOUT)?;
        // A new instance (a restarted pod, a second copy of the service)…
        let new = producer::create(&config)?;
        new.begin_transaction()?;
        send(&new, topic, "new-0")?;
        new.commit_transaction(CALL_TIMEOUT)?;
        // …and the old one, still running, carries on.
        let send_after = send(&old, topic, "old-1").err().map(|e| format!("{e:#}"));
        let error = match old.commit_transaction(CALL_TIMEOUT) {
            Ok(()) => bail!("the old instance committed after being fenced"),
            Err(error) => error,
        };
        let code = error
            .rdkafka_error_code()
            .map_or_else(|| "-".into(), |c| format!("{c:?}"));
        Ok(Fencing {
            error: error.to_string(),
            code,
            class: classify(&error),
            send_after,
            committed: payloads(read_to_end(bootstrap, topic, "read_committed", READ_LIMIT)?),
            uncommitted: payloads(read_to_end(
                bootstrap,
                topic,
                "read_uncommitted",
                READ_LIMIT,
            )?),
        })
    })
    .await
}

/// Offsets and lag while a transaction is open, and after it commits.
#[derive(Debug, Clone, Copy)]
pub struct LastStable {
    pub while_open: Ends,
    /// Records a `read_committed` group member could read, and the offset
    /// it committed.
    pub read_while_open: usize,
    pub committed_while_open: i64,
    pub after: Ends,
    pub read_after: usize,
    pub committed_after: i64,
}

/// 5 plain records, 5 in a transaction left open, 5 plain records after
/// them; a `read_committed` group member reads what it can and commits.
/// Then the transaction commits and the member reads the rest.
pub async fn last_stable_offset(cluster: &Cluster) -> Result<LastStable> {
    on_topic(cluster, "ch04-txn-lso", |bootstrap, topic| {
        let plain: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()?;
        let txn = producer::create(&producer::producer_config(
            bootstrap,
            &unique_name("ch04-txn-lso"),
        ))?;
        for i in 0..5 {
            send(&plain, topic, &format!("before-{i}"))?;
        }
        plain.flush(CALL_TIMEOUT)?;
        txn.begin_transaction()?;
        for i in 0..5 {
            send(&txn, topic, &format!("txn-{i}"))?;
        }
        txn.flush(CALL_TIMEOUT)?;
        for i in 0..5 {
            send(&plain, topic, &format!("after-{i}"))?;
        }
        plain.flush(CALL_TIMEOUT)?;

        let group = unique_name("ch04-txn-lso");
        let member: BaseConsumer<EndIsNotAnError> =
            crate::lesson::exactly_once::consumer_config(bootstrap, &group)
                .set("enable.partition.eof", "true")
                .create_with_context(EndIsNotAnError)?;
        member.subscribe(&[topic])?;
        let while_open = isolation::ends(bootstrap, topic, 0)?;
        let (read_while_open, committed_while_open) =
            read_and_commit(&member, bootstrap, &group, topic)?;
        txn.commit_transaction(CALL_TIMEOUT)?;
        let after = isolation::ends(bootstrap, topic, 0)?;
        let (read_after, committed_after) = read_and_commit(&member, bootstrap, &group, topic)?;
        Ok(LastStable {
            while_open,
            read_while_open,
            committed_while_open,
            after,
            read_after,
            committed_after,
        })
    })
    .await
}

/// Reads until the partition's end (as this member sees it), commits the
/// offset after the last record read, returns (records, committed offset).
fn read_and_commit(
    member: &BaseConsumer<EndIsNotAnError>,
    bootstrap: &str,
    group: &str,
    topic: &str,
) -> Result<(usize, i64)> {
    let deadline = Instant::now() + READ_LIMIT;
    let mut read = 0;
    let mut last = None;
    loop {
        if Instant::now() > deadline {
            bail!("no end of {topic} within {READ_LIMIT:?}");
        }
        match member.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                read += 1;
                last = Some(message.offset());
            }
            Some(Err(KafkaError::PartitionEOF(_))) => break,
            Some(Err(error)) => return Err(error.into()),
            None => {}
        }
    }
    if let Some(offset) = last {
        let mut offsets = rdkafka::TopicPartitionList::new();
        offsets.add_partition_offset(topic, 0, rdkafka::Offset::Offset(offset + 1))?;
        member.commit(&offsets, CommitMode::Sync)?;
    }
    let committed = tutorial_lab::committed_offsets(bootstrap, topic, group, [0])?
        .get(&0)
        .copied()
        .unwrap_or(0);
    Ok((read, committed))
}

/// One bad-input case: what came back, and how long it took.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub case: &'static str,
    pub error: String,
    pub code: String,
    pub class: Option<Class>,
    /// The flags librdkafka set on a transactional error: `fatal`,
    /// `abortable`, `retriable`, or `none` (treated as fatal).
    pub flags: &'static str,
    pub seconds: f64,
}

fn refusal(case: &'static str, started: Instant, error: &KafkaError) -> Refusal {
    let class = matches!(error, KafkaError::Transaction(_)).then(|| classify(error));
    let flags = match error {
        KafkaError::Transaction(e) if e.is_fatal() => "fatal",
        KafkaError::Transaction(e) if e.txn_requires_abort() => "abortable",
        KafkaError::Transaction(e) if e.is_retriable() => "retriable",
        KafkaError::Transaction(_) => "none",
        _ => "-",
    };
    Refusal {
        case,
        flags,
        error: error
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        code: error
            .rdkafka_error_code()
            .map_or_else(|| "-".into(), |c| format!("{c:?}")),
        class,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// `transaction.timeout.ms` below librdkafka's minimum (1000): refused when
/// the producer is created.
pub fn timeout_below_minimum(bootstrap: &str) -> Result<Refusal> {
    let started = Instant::now();
    let mut config = producer::producer_config(bootstrap, &unique_name("ch04-txn-bad"));
    config.set("transaction.timeout.ms", "999");
    match config.create::<BaseProducer>() {
        Ok(_) => bail!("transaction.timeout.ms=999 was accepted"),
        Err(error) => Ok(refusal("below-minimum", started, &error)),
    }
}

/// `transaction.timeout.ms` above the broker's `transaction.max.timeout.ms`
/// (900000 by default): `init_transactions` fails.
pub fn timeout_above_broker_maximum(bootstrap: &str) -> Result<Refusal> {
    let started = Instant::now();
    let mut config = producer::producer_config(bootstrap, &unique_name("ch04-txn-bad"));
    config.set("transaction.timeout.ms", "900001");
    let producer: BaseProducer = config.create()?;
    match producer.init_transactions(CALL_TIMEOUT) {
        Ok(()) => bail!("transaction.timeout.ms=900001 was accepted by the broker"),
        Err(error) => Ok(refusal("above-broker-maximum", started, &error)),
    }
}

/// `commit_transaction` with no transaction begun.
pub fn commit_without_begin(bootstrap: &str) -> Result<Refusal> {
    let producer = producer::create(&producer::producer_config(
        bootstrap,
        &unique_name("ch04-txn-bad"),
    ))?;
    let started = Instant::now();
    match producer.commit_transaction(CALL_TIMEOUT) {
        Ok(()) => bail!("commit_transaction without begin_transaction succeeded"),
        Err(error) => Ok(refusal("commit-without-begin", started, &error)),
    }
}

/// A transaction that outlives `transaction.timeout.ms` (1 s here): the
/// coordinator aborts it on its own (it checks every
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms`, 10 s by
/// default); the producer learns it at its next call.
#[derive(Debug, Clone)]
pub struct Expired {
    /// Seconds until the abort marker was visible (the LSO caught up).
    pub aborted_after: f64,
    pub commit: Refusal,
    pub committed: usize,
    pub uncommitted: usize,
}

pub async fn transaction_outlives_timeout(cluster: &Cluster) -> Result<Expired> {
    on_topic(cluster, "ch04-txn-expired", |bootstrap, topic| {
        let mut config = producer::producer_config(bootstrap, &unique_name("ch04-txn-slow"));
        config.set("transaction.timeout.ms", "1000");
        let producer = producer::create(&config)?;
        producer.begin_transaction()?;
        send(&producer, topic, "slow-0")?;
        producer.flush(CALL_TIMEOUT)?;
        let started = Instant::now();
        // "The work" takes longer than the transaction may: wait for the
        // coordinator to abort it (its marker moves the LSO to the end).
        loop {
            let ends = isolation::ends(bootstrap, topic, 0)?;
            if ends.last_stable == ends.high_watermark {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the coordinator did not abort the expired transaction within 60 s");
            }
            thread::sleep(Duration::from_millis(250));
        }
        let aborted_after = started.elapsed().as_secs_f64();
        let committing = Instant::now();
        let commit = match producer.commit_transaction(CALL_TIMEOUT) {
            Ok(()) => bail!("an expired transaction committed"),
            Err(error) => refusal("outlives-timeout", committing, &error),
        };
        Ok(Expired {
            aborted_after,
            commit,
            committed: read_to_end(bootstrap, topic, "read_committed", READ_LIMIT)?.len(),
            uncommitted: read_to_end(bootstrap, topic, "read_uncommitted", READ_LIMIT)?.len(),
        })
    })
    .await
}

//! Our side of a child process: a [`RunSpec`] in, the chapter's lesson
//! function for that client out, a [`RunResult`] back.

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use ch04_tuning::lab::{PAYLOAD_SEED, payload};
use ch04_tuning::lesson::send::{Timing, measured, threaded_loop, warm_up};
use ch04_tuning::lesson::{
    CONSUMER_KEYS, ConsumerSettings, Load, PRODUCER_KEYS, ProducerSettings, consumer_config,
    fast_consumer, large_records, producer_config, run_base, run_consumer, run_future,
    run_future_window, run_permits, run_threaded, small_records, sync_sends,
};
use ch04_tuning::lesson::{Measured, Percentiles};
use rdkafka::producer::{Producer, ThreadedProducer};
use tutorial_support::print_effective;

use crate::clients::{Client, INSTANCES, Role, RunResult, RunSpec, Work};

/// Runs `spec` in this process with the lesson's functions.
pub async fn run(spec: RunSpec) -> Result<RunResult> {
    let RunSpec {
        client,
        bootstrap,
        topic,
        records,
        work,
    } = spec;
    let measured = match (client, work) {
        (
            Client::RustBase
            | Client::RustThreaded
            | Client::RustRecommended
            | Client::RustInstances,
            Work::Produce(producer),
        ) => {
            let settings = if matches!(client, Client::RustRecommended | Client::RustInstances) {
                recommended_producer(producer.settings(), producer.record_size)
            } else {
                producer.settings()
            };
            print_effective(
                &format!("{} settings:", client.label(Role::Produce)),
                &producer_config(&bootstrap, &settings),
                PRODUCER_KEYS,
            )?;
            // The send loops block (poll, flush): off the async runtime.
            tokio::task::spawn_blocking(move || {
                let value = payload(producer.record_size, PAYLOAD_SEED);
                let load = Load {
                    records,
                    payload: &value,
                    rate: producer.rate,
                };
                match client {
                    Client::RustBase => run_base(&bootstrap, &topic, &settings, load),
                    Client::RustInstances => {
                        run_instances(&bootstrap, &topic, &settings, load, INSTANCES)
                    }
                    _ => run_threaded(&bootstrap, &topic, &settings, load),
                }
            })
            .await??
        }
        (
            Client::RustFuture | Client::RustFutureWindow | Client::RustPermits,
            Work::Produce(producer),
        ) => {
            let settings = producer.settings();
            print_effective(
                &format!("{} settings:", client.label(Role::Produce)),
                &producer_config(&bootstrap, &settings),
                PRODUCER_KEYS,
            )?;
            let value = payload(producer.record_size, PAYLOAD_SEED);
            let load = Load {
                records,
                payload: &value,
                rate: producer.rate,
            };
            match client {
                Client::RustFuture => run_future(&bootstrap, &topic, &settings, load).await?,
                Client::RustFutureWindow => {
                    run_future_window(&bootstrap, &topic, &settings, load).await?
                }
                _ => run_permits(&bootstrap, &topic, &settings, load).await?,
            }
        }
        (Client::RustBase | Client::RustRecommended, Work::Consume { group, settings }) => {
            let settings = if client == Client::RustRecommended {
                recommended_consumer(settings.settings())
            } else {
                settings.settings()
            };
            print_effective(
                "BaseConsumer settings:",
                &consumer_config(&bootstrap, &group, &settings),
                CONSUMER_KEYS,
            )?;
            tokio::task::spawn_blocking(move || {
                run_consumer(&bootstrap, &topic, &group, records, &settings)
            })
            .await??
        }
        (Client::RustFuture, Work::SyncSends { linger_ms }) => {
            let linger_ms =
                linger_ms.unwrap_or(ch04_tuning::lesson::ProducerSettings::default().linger_ms);
            sync_sends(&bootstrap, &topic, records, linger_ms).await?
        }
        (client, work) => {
            bail!("{client:?} cannot run {work:?} (not one of our clients, or not a role it has)")
        }
    };
    Ok(RunResult::from_measured(&measured, records))
}

/// Records from this size up count as large for the recommendation.
pub const LARGE_RECORD: usize = 4096;

/// The case's settings plus what the page recommends for records of
/// `record_size` bytes (`small_records()` or `large_records()`: the
/// librdkafka-only properties they add).
pub fn recommended_producer(
    mut settings: ProducerSettings,
    record_size: usize,
) -> ProducerSettings {
    let recommended = if record_size >= LARGE_RECORD {
        large_records()
    } else {
        small_records()
    };
    settings.extra.extend(recommended.extra);
    settings
}

/// The case's settings with `fast_consumer()`'s prefetch pause.
pub fn recommended_consumer(mut settings: ConsumerSettings) -> ConsumerSettings {
    settings.fetch_queue_backoff_ms = fast_consumer().fetch_queue_backoff_ms;
    settings
}

/// `n` `ThreadedProducer`s in this process, each sending its share of
/// `load` to the same topic; they start together, once every one has the
/// topic's metadata. Throughput counts every record over the time from the
/// first start to the last delivery report; the latency percentiles are the
/// worst instance's (the samples are not merged).
fn run_instances(
    bootstrap: &str,
    topic: &str,
    settings: &ProducerSettings,
    load: Load<'_>,
    n: u64,
) -> Result<Measured> {
    let ready = Barrier::new(n as usize);
    let runs: Vec<Result<(Instant, Measured)>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let ready = &ready;
                scope.spawn(move || {
                    let share = Load {
                        records: load.records / n + u64::from(i < load.records % n),
                        payload: load.payload,
                        rate: load.rate / n,
                    };
                    let producer = producer_config(bootstrap, settings)
                        .create_with_context::<_, ThreadedProducer<Timing>>(Timing::new(
                            share.records,
                        ))
                        .map_err(anyhow::Error::from)
                        .and_then(|p| warm_up(p.client(), topic).map(|()| p));
                    // Every thread reaches the barrier, even one that failed.
                    ready.wait();
                    let producer = producer?;
                    let started = Instant::now();
                    threaded_loop(&producer, topic, share)?;
                    Ok((
                        started,
                        measured(producer.context().latencies(), started, share)?,
                    ))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a producer thread panicked")))
            })
            .collect()
    });
    let runs = runs.into_iter().collect::<Result<Vec<_>>>()?;
    let first = runs
        .iter()
        .map(|(started, _)| *started)
        .min()
        .expect("n > 0");
    let last = runs
        .iter()
        .map(|(started, m)| *started + Duration::from_secs_f64(m.seconds))
        .max()
        .expect("n > 0");
    let worst = |field: fn(&Percentiles) -> f64| {
        runs.iter()
            .map(|(_, m)| m.latency.as_ref().map(field))
            .try_fold(0.0f64, |worst, p| Some(worst.max(p?)))
    };
    let latency = match (
        worst(|p| p.p50_ms),
        worst(|p| p.p99_ms),
        worst(|p| p.p999_ms),
    ) {
        (Some(p50_ms), Some(p99_ms), Some(p999_ms)) => Some(Percentiles {
            p50_ms,
            p99_ms,
            p999_ms,
        }),
        _ => None,
    };
    Ok(Measured {
        records: runs.iter().map(|(_, m)| m.records).sum(),
        bytes: runs.iter().map(|(_, m)| m.bytes).sum(),
        seconds: (last - first).as_secs_f64(),
        latency,
    })
}

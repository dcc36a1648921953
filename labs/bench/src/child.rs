//! Our side of a child process: a [`RunSpec`] in, the chapter's lesson
//! function for that client out, a [`RunResult`] back.

use anyhow::{Result, bail};
use ch04_tuning::lab::{PAYLOAD_SEED, payload};
use ch04_tuning::lesson::{
    CONSUMER_KEYS, ConsumerSettings, Load, PRODUCER_KEYS, ProducerSettings, consumer_config,
    fast_consumer, large_records, producer_config, run_base, run_consumer, run_future,
    run_future_window, run_permits, run_threaded, small_records, sync_sends,
};
use tutorial_support::print_effective;

use crate::clients::{Client, Role, RunResult, RunSpec, Work};

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
            Client::RustBase | Client::RustThreaded | Client::RustRecommended,
            Work::Produce(producer),
        ) => {
            let settings = if client == Client::RustRecommended {
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
                if client == Client::RustBase {
                    run_base(&bootstrap, &topic, &settings, load)
                } else {
                    run_threaded(&bootstrap, &topic, &settings, load)
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

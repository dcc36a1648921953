//! Our side of a child process: a [`RunSpec`] in, the chapter's lesson
//! function for that client out, a [`RunResult`] back.

use anyhow::{Result, bail};
use ch04_tuning::lab::{PAYLOAD_SEED, payload};
use ch04_tuning::lesson::{
    CONSUMER_KEYS, Load, PRODUCER_KEYS, consumer_config, producer_config, run_base, run_consumer,
    run_future, run_future_window, run_permits, run_threaded, sync_sends,
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
        (Client::RustBase | Client::RustThreaded, Work::Produce(producer)) => {
            let settings = producer.settings();
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
        (Client::RustBase, Work::Consume { group, settings }) => {
            let settings = settings.settings();
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

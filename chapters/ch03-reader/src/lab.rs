//! Chapter 三.1's lab: records to read, and several members of one or more
//! groups running the lesson's read loop at once, counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

use crate::lesson::read_loop;

/// Produces `count` records with payload `i`, keyed `k{i}`, and (if given)
/// timestamps `first_ts + i * 1000`.
pub async fn produce(
    bootstrap: &str,
    topic: &str,
    from: usize,
    count: usize,
    first_ts: Option<i64>,
) -> Result<()> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("message.timeout.ms", "30000")
        .create()?;
    let items: Vec<(String, String)> = (from..from + count)
        .map(|i| (format!("k{i}"), i.to_string()))
        .collect();
    let sends = items.iter().enumerate().map(|(n, (key, payload))| {
        let mut record = FutureRecord::to(topic).key(key).payload(payload);
        if let Some(ts) = first_ts {
            record = record.timestamp(ts + n as i64 * 1000);
        }
        producer.send(record, Duration::from_secs(30))
    });
    for result in futures::future::join_all(sends).await {
        result.map_err(|(e, _)| e)?;
    }
    Ok(())
}

/// Members of one or more groups, each running the lesson's `read_loop` in
/// its own task and counting what it receives.
pub struct Members {
    pub consumers: Vec<Arc<StreamConsumer>>,
    pub received: Vec<Arc<AtomicUsize>>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<Result<usize>>>,
}

impl Members {
    /// Starts `consumers`' read loops.
    pub fn start(consumers: Vec<StreamConsumer>) -> Members {
        let stop = CancellationToken::new();
        let consumers: Vec<Arc<StreamConsumer>> = consumers.into_iter().map(Arc::new).collect();
        let received: Vec<Arc<AtomicUsize>> = consumers
            .iter()
            .map(|_| Arc::new(AtomicUsize::new(0)))
            .collect();
        let tasks = consumers
            .iter()
            .zip(&received)
            .map(|(consumer, count)| {
                let (consumer, count, stop) =
                    (Arc::clone(consumer), Arc::clone(count), stop.clone());
                tokio::spawn(async move {
                    read_loop(&consumer, &stop, |_| {
                        count.fetch_add(1, Ordering::Relaxed);
                    })
                    .await
                })
            })
            .collect();
        Members {
            consumers,
            received,
            stop,
            tasks,
        }
    }

    /// Waits until every consumer has partitions assigned (the groups formed).
    pub async fn wait_until_assigned(&self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        while !self
            .consumers
            .iter()
            .all(|c| c.assignment().map(|a| a.count() > 0).unwrap_or(false))
        {
            if Instant::now() > deadline {
                bail!("the group(s) did not assign partitions to every member within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Waits until the members together received `total` records.
    pub async fn wait_for_total(&self, total: usize, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        while self.counts().iter().sum::<usize>() < total {
            if Instant::now() > deadline {
                bail!("received {:?} of {total} within {limit:?}", self.counts());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// What each member received so far.
    pub fn counts(&self) -> Vec<usize> {
        self.received
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// What member `index` received so far (0 for a member that does not exist).
    pub fn count(&self, index: usize) -> usize {
        self.received
            .get(index)
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Stops every loop (each commits and leaves its group).
    pub async fn stop(self) -> Result<Vec<usize>> {
        self.stop.cancel();
        let mut processed = Vec::new();
        for task in self.tasks {
            processed.push(task.await??);
        }
        Ok(processed)
    }
}

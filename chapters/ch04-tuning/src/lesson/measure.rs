//! What a run measures, and how: records, bytes and seconds for throughput,
//! and the time from `send` to the record's delivery report for latency.
//! Nothing here talks to Kafka; the send loops fill it in.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError;

/// How long a run may go without progress before it is declared stuck.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What to send: `records` copies of `payload`, at `rate` records/s
/// (0 = as fast as the client takes them).
#[derive(Debug, Clone, Copy)]
pub struct Load<'a> {
    pub records: u64,
    pub payload: &'a [u8],
    pub rate: u64,
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub records: u64,
    pub bytes: u64,
    /// From the first send to the last delivery report (producers), or from
    /// the first record received to the last (consumers).
    pub seconds: f64,
    /// Send → delivery report (producers only).
    pub latency: Option<Percentiles>,
}

impl Measured {
    pub fn records_per_second(&self) -> f64 {
        self.records as f64 / self.seconds.max(1e-9)
    }

    pub fn mib_per_second(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.seconds.max(1e-9)
    }
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

/// Send-to-delivery-report latencies (µs), and the deliveries that failed.
#[derive(Default)]
pub struct Latencies {
    samples: Mutex<Vec<u32>>,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Latencies {
    pub fn with_capacity(records: u64) -> Self {
        Latencies {
            samples: Mutex::new(Vec::with_capacity(records as usize)),
            ..Default::default()
        }
    }

    pub fn record(&self, since_send: Duration) {
        let micros = u32::try_from(since_send.as_micros()).unwrap_or(u32::MAX);
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(micros);
        }
    }

    pub fn fail(&self, error: &KafkaError) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error.to_string());
        }
    }

    /// How many were delivered, or the error if any delivery failed.
    pub fn delivered(&self) -> Result<u64, String> {
        let failed = self.failed.load(Ordering::Relaxed);
        let delivered = self.samples.lock().map_or(0, |s| s.len() as u64);
        if failed > 0 {
            let last = self.last_error.lock().ok().and_then(|l| l.clone());
            return Err(format!(
                "{failed} records were not delivered ({delivered} were); last error: {}",
                last.unwrap_or_default()
            ));
        }
        Ok(delivered)
    }

    /// p50, p99 and p99.9 of the delivered records (None before the first).
    pub fn percentiles(&self) -> Option<Percentiles> {
        let mut samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        samples.sort_unstable();
        let at = |q: f64| -> Option<f64> {
            let index = ((samples.len().checked_sub(1)?) as f64 * q) as usize;
            samples.get(index).map(|&micros| f64::from(micros) / 1000.0)
        };
        Some(Percentiles {
            p50_ms: at(0.50)?,
            p99_ms: at(0.99)?,
            p999_ms: at(0.999)?,
        })
    }
}

/// Spreads sends evenly at `rate` records/s (0: no pacing).
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    start: Instant,
    rate: u64,
}

impl Pace {
    pub fn new(rate: u64) -> Pace {
        Pace {
            start: Instant::now(),
            rate,
        }
    }

    /// How long until record `index` is due, if it is not due yet.
    pub fn ahead(&self, index: u64) -> Option<Duration> {
        if self.rate == 0 {
            return None;
        }
        let due = Duration::from_secs_f64(index as f64 / self.rate as f64);
        due.checked_sub(self.start.elapsed())
            .filter(|wait| !wait.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let latencies = Latencies::with_capacity(1000);
        assert_eq!(latencies.percentiles(), None);
        for ms in 1..=1000u64 {
            latencies.record(Duration::from_millis(ms));
        }
        let p = latencies.percentiles().unwrap();
        assert_eq!((p.p50_ms, p.p99_ms, p.p999_ms), (500.0, 990.0, 999.0));
        assert_eq!(latencies.delivered(), Ok(1000));
        latencies.fail(&KafkaError::Canceled);
        assert!(latencies.delivered().is_err());
    }

    #[test]
    fn pacing_spreads_records_over_the_second() {
        let pace = Pace::new(1000);
        assert!(pace.ahead(0).is_none());
        let wait = pace.ahead(500).expect("record 500 is due at 0.5 s");
        assert!(wait > Duration::from_millis(400) && wait <= Duration::from_millis(500));
        assert!(Pace::new(0).ahead(1_000_000).is_none());
    }
}

//! Chapter 四.5 (observability): what to watch in a Kafka client, and where
//! each number comes from.
//!
//! librdkafka measures itself — queue depth, batch sizes, request latency,
//! errors, consumer lag — and hands the numbers to the application every
//! `statistics.interval.ms`. This chapter exports them to Prometheus and
//! measures consumer lag a second way, from outside the group.
//!
//! [`lesson`] is what the book page includes; [`lab`] is what proves it.

pub mod lab;
pub mod lesson;

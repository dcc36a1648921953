//! Chapter 一: Kafka's architecture, observed on a live cluster.
//!
//! [`lesson`] asks the cluster the questions the book explains — who the
//! brokers are, how a topic is split into partitions and where their
//! replicas live, what order means in a partitioned log, how consumer groups
//! share partitions. [`lab`] is what the showcase and the tests need around
//! it. `main.rs` tells the story; the tests prove it.

pub mod lab;
pub mod lesson;

//! Chapter 一's lesson: Kafka's architecture, asked from a live cluster.
//!
//! - [`cluster`]: who the brokers are, how a topic is created and split into
//!   partitions, where their replicas live;
//! - [`order`]: keys choose partitions, and order holds within a partition;
//! - [`groups`]: how consumer groups share partitions.

pub mod cluster;
pub mod groups;
pub mod order;

pub use cluster::{
    ClusterView, PartitionView, REQUEST_TIMEOUT, TopicOutcome, create_topic, describe_cluster,
    describe_partitions,
};
pub use groups::{Member, MemberContext, consume, join, member_config};
pub use order::{Received, Sent, produce_keyed, producer_config, read_back};

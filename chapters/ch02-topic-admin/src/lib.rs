//! 二.1 创建 Topic.
//!
//! - [`lesson`]: the Admin API calls the book page shows — CreateTopics with
//!   topic configs, DescribeConfigs, CreatePartitions — and where keys land;
//! - [`lab`]: what the showcase and the tests use to check the broker's
//!   answers (the partition count metadata reports, and waiting for it).

pub mod lab;
pub mod lesson;

pub use lesson::*;

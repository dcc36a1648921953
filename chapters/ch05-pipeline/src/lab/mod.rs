//! The lab of 五: the stages as processes, the runner with its live view,
//! the audit, the chaos drill and the benchmark.
//!
//! - [`stages`]: flags, topics, `/metrics`, signals and progress of each stage;
//! - [`runner`]: starts the three stages, shows them live, stops them in order;
//! - [`positions`]: where each stage is, read from Kafka and the database;
//! - [`audit`]: the input topic and the database, compared event by event;
//! - [`drill`]: SIGKILLs of stages and of a broker, then the audit;
//! - [`bench`]: throughput and window latency, at-least-once vs exactly-once.

pub mod audit;
pub mod bench;
pub mod drill;
pub mod positions;
pub mod runner;
pub mod stages;

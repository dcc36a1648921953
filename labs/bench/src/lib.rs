//! The benchmark lab (附录 E 基准测试实验室): rust-rdkafka — the lesson
//! functions of `chapters/ch04-tuning` — against Kafka's own Java perf tools
//! and kafka-go, on the same broker, with the same settings, in one run.
//!
//! The modules depend on each other in one direction only:
//!
//! ```text
//! chart ──► report ──► run ──► plan ──► clients ◄── child
//! ```
//!
//! (`A ──► B`: A uses B. A module uses only modules to its right.)
//!
//! - [`clients`]: who runs (the [`clients::Client`] enum), the settings as
//!   data ([`clients::RunSpec`]), how each client is launched and how its
//!   answer is read;
//! - [`plan`]: the matrix — configurations, clients, record counts, rounds;
//! - [`run`]: child processes on fresh topics, CPU from rusage, every record
//!   accounted for;
//! - [`report`]: medians, spreads, ratios, markdown and JSON;
//! - [`chart`]: the SVG charts of the book;
//! - [`child`]: what `bench-lab child '<RunSpec>'` does in the child;
//! - [`e2e`]: `bench-lab e2e`, the latency price of consumer settings
//!   (CreateTime → poll at a fixed rate; our client only, uses
//!   [`report::median`]);
//! - [`link`]: `bench-lab link`, `linger.ms` over a link with a real round
//!   trip (our client only, in this process; uses [`report::median`]).

pub mod chart;
pub mod child;
pub mod clients;
pub mod e2e;
pub mod link;
pub mod plan;
pub mod report;
pub mod run;

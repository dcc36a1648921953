//! The lesson of 四.5 可观测性, one idea per file:
//!
//! - [`stats`]: statistics on (`statistics.interval.ms`), delivered to a
//!   client context;
//! - [`metrics`]: the numbers worth watching, as Prometheus metrics;
//! - [`endpoint`]: `/metrics` over HTTP;
//! - [`consume`]: the consumer loop that keeps statistics coming;
//! - [`lag`]: consumer lag measured from outside, committed offset against
//!   the high watermark.

pub mod consume;
pub mod endpoint;
pub mod lag;
pub mod metrics;
pub mod stats;

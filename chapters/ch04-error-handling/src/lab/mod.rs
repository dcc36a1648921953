//! The lab of 四.3: what proves the lesson.
//!
//! - [`link`]: the cuttable link (the lab crate's one relay) in front of the
//!   broker's PROXIED listener;
//! - [`outage`]: a producer across a broker restart, a consumer that loses
//!   every broker;
//! - [`backpressure`]: a slow worker, a bounded channel, pause and resume.

pub mod backpressure;
pub mod link;
pub mod outage;

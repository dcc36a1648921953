//! 二.4 acks：确认等级与数据可靠性.
//!
//! - [`lesson`]: a producer per `acks` level, what each one learns (the
//!   offset, or nothing), what each costs, and a topic whose
//!   `min.insync.replicas` makes `acks=all` mean something — the code the
//!   book page shows;
//! - [`lab`]: the failure drill on the local three-node cluster that shows
//!   which acknowledged records survive a leader's death.

pub mod lab;
pub mod lesson;

pub use lesson::*;

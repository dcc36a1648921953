//! 二.2 配置生产者与发送.
//!
//! - [`lesson`]: the producer configuration, a synchronous send (one record,
//!   then a batch awaited together) and an asynchronous send whose outcomes
//!   arrive in a delivery callback — the code the book page shows;
//! - [`lab`]: the drill that proves why `flush` matters (a producer dropped
//!   with records still queued).

pub mod lab;
pub mod lesson;

pub use lesson::*;

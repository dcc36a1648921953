//! Exercise 四.5: measure a group's lag the way Kafka's own tool does.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-consumer-lag` (a broker must run:
//! `cargo xtask kafka up`); stuck? the hint is printed when the check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-consumer-lag.rs"]
mod exercise;

pub use exercise::*;

//! Exercise 三.1: find the first record at or after a point in time.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-seek-to-time` (a broker must run:
//! `cargo xtask kafka up`); stuck? the hint is printed when the check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-seek-to-time.rs"]
mod exercise;

pub use exercise::*;

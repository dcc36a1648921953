//! Exercise 二.5: make retries unable to duplicate records.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-idempotent` (a broker must run:
//! `cargo xtask kafka up`); stuck? the hint is printed when the check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-idempotent.rs"]
mod exercise;

pub use exercise::*;

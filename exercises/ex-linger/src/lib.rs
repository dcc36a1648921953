//! Exercise 四.7: let batches fill at a steady rate without making
//! records wait long.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-linger` (a broker must run:
//! `cargo xtask kafka up`); stuck? the hint is printed when the check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-linger.rs"]
mod exercise;

pub use exercise::*;

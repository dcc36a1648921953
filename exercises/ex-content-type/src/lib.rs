//! Exercise 四.1: decode a record only when its headers say how.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-content-type` (a broker must run:
//! `cargo xtask kafka up`); stuck? the hint is printed when the check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-content-type.rs"]
mod exercise;

pub use exercise::*;

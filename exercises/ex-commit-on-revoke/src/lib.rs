//! Exercise 三.3: commit on revoke, so the next owner does not repeat your work.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-commit-on-revoke` (a broker must run:
//! `cargo xtask kafka up`); stuck? the hint is printed when the check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-commit-on-revoke.rs"]
mod exercise;

pub use exercise::*;

//! Exercise 四.3: send poison records to the dead-letter topic with where they came from.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-dead-letter` (a broker must run:
//! `cargo xtask kafka up`); stuck? the hint is printed when the check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-dead-letter.rs"]
mod exercise;

pub use exercise::*;

//! Exercise 三.2: store offsets after processing, so a crash loses nothing.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-store-after-processing` (a broker must run:
//! `cargo xtask kafka up`); stuck? the hint is printed when the check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-store-after-processing.rs"]
mod exercise;

pub use exercise::*;

//! Exercise 四.2: evolve the Avro schema so old records still decode.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-avro-evolution` (no broker needed: the
//! decoding happens in the consumer); stuck? the hint is printed when the
//! check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-avro-evolution.rs"]
mod exercise;

pub use exercise::*;

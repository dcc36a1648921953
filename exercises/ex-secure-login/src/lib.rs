//! Exercise 四.6: log in to the secured listener over TLS with SCRAM.
//!
//! Your code goes in `src/exercise.rs` (look for `TODO`). Check it with
//! `cargo xtask exercise check ex-secure-login` (the secured node must run:
//! `cargo xtask kafka up --secure`); stuck? the hint is printed when the
//! check fails.

#[cfg(not(feature = "solution"))]
mod exercise;
#[cfg(feature = "solution")]
#[path = "../../solutions/ex-secure-login.rs"]
mod exercise;

pub use exercise::*;

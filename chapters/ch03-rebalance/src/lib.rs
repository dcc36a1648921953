//! Chapter 三.3: consumer groups in motion.
//!
//! [`lesson`] is what the book page shows: one member's configuration under
//! each protocol, the rebalance callbacks that commit on revoke, the read
//! loop and a clean exit. [`lab`] runs several members at once, keeps the
//! timeline of their callbacks and reports what each rebalance step moved.

pub mod lab;
pub mod lesson;

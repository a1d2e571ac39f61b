//! Benchmark of mortar's synchronized-request ("race") engine.
//!
//! One run starts the lab in-process (every server on 127.0.0.1), builds a
//! client [`mortar_engine::Engine`] that trusts only the lab CA, and measures
//! for the single-packet, last-byte and naive modes, against the same
//! endpoints on two server stacks (axum on hyper, and actix-web):
//!
//! - **spread**: how far apart the N requests of a burst reach the handler
//!   (the lab's `/bench/arrive` records handler entry, after the whole body was
//!   read), as nearest-rank p50 and p95 over the bursts;
//! - **win rate**: how often a burst gets more than one success from the lab's
//!   single-use action (`/bench/limit`) with a check-to-use window of W us,
//!   spent holding the worker thread or awaiting.
//!
//! The binary `race-bench` parses the flags ([`args`]), runs [`run::run`] and
//! prints [`report`]. Every count is bounded and every burst has a timeout, so
//! a run always ends.

#![warn(missing_docs)]

pub mod args;
pub mod machine;
pub mod report;
pub mod run;
pub mod stats;

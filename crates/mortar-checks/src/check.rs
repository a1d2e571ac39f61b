//! The check contract: what a check is and how it ends. The list of checks
//! is in [`crate::registry`].

use crate::context::{Reporter, ScanContext};
use mortar_model::CheckInfo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckVerdict {
    /// It tested what it set out to; the text says what it covered.
    Ran(String),
    /// Nothing to test here (no such surface), with the reason.
    Skipped(String),
    /// It could not conclude, with the reason (target errors, limits).
    Inconclusive(String),
}

/// The future a check's entry point returns.
pub type CheckFuture = Pin<Box<dyn Future<Output = CheckVerdict> + Send>>;

/// A check: its metadata and its entry point.
#[derive(Debug)]
pub struct Check {
    /// Metadata: id, category, severity, profile, texts, references.
    pub info: CheckInfo,
    /// Where the check is defined: `module_path!()` of its file, which the
    /// registry tests hold to `checks::<category>::<slug>`.
    pub module: &'static str,
    /// Runs the check. Observations go to the reporter as they are made, so a
    /// check cut short by the deadline keeps what it found.
    pub run: fn(Arc<ScanContext>, Reporter) -> CheckFuture,
}

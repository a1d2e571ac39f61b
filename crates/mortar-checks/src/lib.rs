//! mortar's checks: the registry (one static list whose metadata drives
//! `mortar checks`, reports and docs), the shared scan context, the pre-flight
//! of identities, and the runner that executes checks in parallel.
//!
//! Adding a check: write `src/checks/<slug>.rs` exporting a `pub static CHECK: Check`,
//! then add one line to [`registry::CHECKS`].

pub mod check;
pub mod checks;
pub mod context;
pub mod preflight;
pub mod probes;
pub mod registry;
pub mod runner;
pub mod select;

pub use check::{Check, CheckFuture, CheckVerdict};
// The context's helpers, at the paths other crates use.
pub use context::{
    Described, RacePlan, RaceState, RaceStep, Reach, Reporter, ScanContext, ScanOperation, ScanSettings, SignedSample,
};
pub use context::{reproduce, session};
pub use probes::{canary, issuer};
pub use registry::{CHECKS, find};
pub use runner::{ScanResults, run_checks};
pub use select::{Selection, SelectionError, plan};

//! mortar's checks: the check contract ([`check`]), the registry (one static
//! list whose metadata drives `mortar checks`, reports and docs), the shared
//! scan context ([`context`]), the machinery checks share ([`probes`]), the
//! pre-flight of identities, and the runner that executes checks in parallel.
//!
//! Adding a check: write `src/checks/<category>/<slug>.rs` (the id with `-` as
//! `_`) exporting a `pub static CHECK: Check`, declare it in its category's
//! `mod.rs`, and add one line to [`registry::CHECKS`] (DESIGN.md, "How to add
//! a check").

pub mod check;
pub mod checks;
pub mod context;
pub mod preflight;
pub mod probes;
pub mod registry;
pub mod runner;
pub mod select;

pub use check::{Check, CheckFuture, CheckVerdict};
pub use context::{
    Described, RacePlan, RaceState, RaceStep, Reach, Reporter, ScanContext, ScanOperation, ScanSettings, SignedSample,
};
// The context's helpers and two probes, at the paths other crates use.
pub use context::{reproduce, session};
pub use probes::{canary, issuer};
pub use registry::{CHECKS, find};
pub use runner::{ScanResults, run_checks};
pub use select::{Selection, SelectionError, plan};

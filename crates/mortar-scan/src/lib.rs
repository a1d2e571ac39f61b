//! mortar's scan as a library: [`run`] takes resolved [`ScanOptions`] and
//! returns the report; [`plan`] says what a scan would do without running it.
//! The command line, the server and the MCP tools all call these.
//!
//! The pipeline: engine (limits, scope, TLS, redaction) → API description
//! (a file or a URL fetched once, else discovered at the target; servers
//! resolved against the target origin) → pre-flight of the identities →
//! learning real ids → the checks in parallel → findings aggregated, the
//! baseline and suppressions applied → the report (scored, sorted).

mod error;
mod events;
mod options;
mod pipeline;
mod plan;
pub mod spec;
pub mod suppress;

pub use error::{InputError, ScanError};
pub use events::{EventSink, ScanEvent};
pub use options::{Pace, ScanOptions, defaults};
pub use pipeline::{ScanOutcome, run_observed};
pub use plan::{Plan, PlanSpec, plan};

/// Runs a scan: the report, and where the description defines each operation.
/// Gates are the caller's (`mortar_model::Gates::evaluate`).
pub async fn run(options: &ScanOptions) -> Result<ScanOutcome, ScanError> {
    run_observed(options, None).await
}

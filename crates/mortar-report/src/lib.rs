//! mortar's report renderers and the committed JSON schema of the report.
//!
//! - [`REPORT_SCHEMA`]: the JSON Schema (draft 2020-12) of the JSON report,
//!   schema version 1, exactly as [`mortar_model::Report`] serializes.
//! - [`render_json`]: the report as pretty JSON (`--format json`).
//! - [`render_summary`]: a compact human summary for a terminal (`--format summary`).
//! - [`render_sarif`]: SARIF 2.1.0 for code scanning (`--format sarif`).
//! - [`render_junit`]: JUnit XML, a test case per check (`--format junit`).
//! - [`render_markdown`]: a pull-request comment or job summary (`--format markdown`).
//! - [`render_html`]: one self-contained HTML file that loads nothing (`--format html`).
//! - [`render_checks_text`] and [`render_checks_json`]: the output of `mortar checks`.
//! - [`render`]: any [`Format`] by name (`--format`, `--report FORMAT=FILE`).

mod checks;
mod format;
mod html;
mod junit;
mod markdown;
mod sarif;
mod summary;
mod text;

#[cfg(test)]
mod tests;

pub use checks::{render_checks_json, render_checks_text};
pub use format::{Format, RenderOptions, UnknownFormat, render};
pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use sarif::{MAX_RESULTS as SARIF_MAX_RESULTS, SpecLocation, pseudo_path, render_sarif};
pub use summary::{SummaryOptions, render_summary};

use mortar_model::Report;

/// The JSON Schema (draft 2020-12) of the JSON report, schema version 1.
///
/// It describes exactly what `serde_json::to_value(&Report)` produces: every
/// object is closed (`additionalProperties: false`) and every field the model
/// always writes is required. The file is committed at
/// `crates/mortar-report/schema/report.v1.json`.
pub const REPORT_SCHEMA: &str = include_str!("../schema/report.v1.json");

/// The report as pretty-printed JSON, ending with a newline.
///
/// The output validates against [`REPORT_SCHEMA`].
pub fn render_json(report: &Report) -> String {
    // A report holds only strings, numbers, booleans, sequences and structs:
    // serializing it cannot fail.
    let mut out = serde_json::to_string_pretty(report).expect("a report always serializes to JSON");
    out.push('\n');
    out
}

/// Test helper: the escaping the HTML renderer applies.
#[cfg(test)]
pub(crate) fn html_escape_for_tests(text: &str) -> String {
    html::escape_html(text)
}

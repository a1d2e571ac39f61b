//! Output formats by name, and one entry point that renders any of them.

use crate::{SpecLocation, SummaryOptions};
use mortar_model::{CheckInfo, Report, Severity};

/// The report formats of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human summary.
    Summary,
    /// The JSON report.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML.
    Junit,
    /// Markdown (pull-request comment, job summary).
    Markdown,
    /// One self-contained HTML file.
    Html,
}

/// A format name that is not one of [`Format`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected summary, json, sarif, junit, markdown or html)")]
pub struct UnknownFormat(pub String);

impl std::str::FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(name: &str) -> Result<Format, UnknownFormat> {
        match name.to_ascii_lowercase().as_str() {
            "summary" => Ok(Format::Summary),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "junit" => Ok(Format::Junit),
            "markdown" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            _ => Err(UnknownFormat(name.to_string())),
        }
    }
}

/// What some formats need besides the report.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions<'a> {
    /// Colours in the summary (a terminal, no `NO_COLOR`).
    pub color: bool,
    /// The check catalogue, for SARIF rules.
    pub catalogue: &'a [CheckInfo],
    /// Where the API description defines each operation, for SARIF locations.
    pub spec_locations: &'a [SpecLocation],
    /// The severity at which a JUnit test case fails (the `--fail-on` gate, else high).
    pub fail_on: Severity,
}

/// The report in `format`.
pub fn render(report: &Report, format: Format, options: &RenderOptions<'_>) -> String {
    match format {
        Format::Json => crate::render_json(report),
        Format::Summary => crate::render_summary(report, &SummaryOptions { color: options.color }),
        Format::Sarif => crate::render_sarif(report, options.catalogue, options.spec_locations),
        Format::Junit => crate::render_junit(report, options.fail_on),
        Format::Markdown => crate::render_markdown(report),
        Format::Html => crate::render_html(report),
    }
}

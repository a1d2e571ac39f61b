//! Markdown for a pull-request comment or a CI job summary.

use mortar_model::{CheckStatus, Finding, FindingStatus, Report, Severity};
use std::fmt::Write as _;

/// Findings shown with their fix before the collapsible full list.
const TOP_FINDINGS: usize = 5;

/// Text from the target made safe inside Markdown: no HTML (the markup
/// characters as references), no table or code breaks, one line.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push('\''),
            '"' | '\'' => out.push(c),
            '\r' | '\n' | '\t' => out.push(' '),
            c => crate::text::push_markup(&mut out, c),
        }
    }
    out
}

fn place(f: &Finding) -> String {
    match &f.endpoint {
        Some(e) => format!("{} {}", e.method, e.path),
        None => "host-wide".to_string(),
    }
}

/// The report as Markdown: grade and score, counts by severity, the top
/// findings with their fix, every finding in a collapsible list, coverage.
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## mortar: grade {} ({}/100)\n", report.grade, report.score);
    let _ = writeln!(
        out,
        "Target `{}` · profile {} · {} requests · {:.1} s{}\n",
        escape(&report.target.url),
        report.profile,
        report.stats.requests,
        report.duration_ms as f64 / 1000.0,
        if report.gate_score != report.score { format!(" · gate score {}", report.gate_score) } else { String::new() }
    );
    out.push_str("| severity | findings | new |\n|---|---:|---:|\n");
    for severity in Severity::ALL {
        let of: Vec<&Finding> = report.findings.iter().filter(|f| f.severity == severity).collect();
        let new = of.iter().filter(|f| f.status == FindingStatus::New).count();
        let _ = writeln!(out, "| {} | {} | {} |", severity.as_str(), of.len(), new);
    }
    out.push('\n');
    if report.findings.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        let _ = writeln!(out, "### Top findings\n");
        for f in report.findings.iter().take(TOP_FINDINGS) {
            let _ = writeln!(
                out,
                "- **{}** `{}` {} — {}\n  - Fix: {}",
                f.severity.as_str(),
                f.check,
                escape(&place(f)),
                escape(&f.title),
                escape(f.remediation.lines().next().unwrap_or(""))
            );
        }
        let _ = writeln!(out, "\n<details><summary>All {} findings</summary>\n", report.findings.len());
        out.push_str("| severity | check | where | title | status |\n|---|---|---|---|---|\n");
        for f in &report.findings {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {:?} |",
                f.severity.as_str(),
                f.check,
                escape(&place(f)),
                escape(&f.title),
                f.status
            );
        }
        out.push_str("\n</details>\n\n");
    }
    let count = |status: CheckStatus| report.coverage.checks.iter().filter(|c| c.status == status).count();
    let _ = writeln!(
        out,
        "Coverage: {} checks ran, {} inconclusive, {} skipped; {} identities.",
        count(CheckStatus::Ran),
        count(CheckStatus::Inconclusive),
        count(CheckStatus::Skipped),
        report.coverage.identities.len()
    );
    out
}

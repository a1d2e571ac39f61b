//! `mortar diff OLD.json NEW.json`: what changed between two reports.

use crate::error::{UsageError, exit};
use crate::{emit, error_line};
use mortar_model::{Finding, Report};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// One category's change.
#[derive(Debug, Serialize)]
pub struct CategoryChange {
    /// Category id.
    pub id: String,
    /// Score before (`None`: not tested).
    pub old_score: Option<u8>,
    /// Score after.
    pub new_score: Option<u8>,
    /// Findings before.
    pub old_findings: usize,
    /// Findings after.
    pub new_findings: usize,
}

/// A finding in a diff: enough to recognise it.
#[derive(Debug, Serialize)]
pub struct FindingRef {
    /// Finding id.
    pub id: String,
    /// Check id.
    pub check: String,
    /// Severity.
    pub severity: String,
    /// Title.
    pub title: String,
    /// `METHOD path` or `host-wide`.
    pub place: String,
}

/// The difference between two reports.
#[derive(Debug, Serialize)]
pub struct ReportDiff {
    /// Score before.
    pub old_score: u8,
    /// Score after.
    pub new_score: u8,
    /// Grade before.
    pub old_grade: String,
    /// Grade after.
    pub new_grade: String,
    /// In the new report only.
    pub new: Vec<FindingRef>,
    /// In the old report only.
    pub fixed: Vec<FindingRef>,
    /// In both.
    pub unchanged: Vec<FindingRef>,
    /// Categories whose score or findings changed.
    pub categories: Vec<CategoryChange>,
}

fn finding_ref(f: &Finding) -> FindingRef {
    FindingRef {
        id: f.id.clone(),
        check: f.check.clone(),
        severity: f.severity.to_string(),
        title: f.title.clone(),
        place: f.endpoint.as_ref().map(|e| format!("{} {}", e.method, e.path)).unwrap_or_else(|| "host-wide".into()),
    }
}

/// Compares two reports by finding id (stable across runs and ports).
pub fn diff(old: &Report, new: &Report) -> ReportDiff {
    let old_ids: BTreeMap<&str, &Finding> = old.findings.iter().map(|f| (f.id.as_str(), f)).collect();
    let new_ids: BTreeMap<&str, &Finding> = new.findings.iter().map(|f| (f.id.as_str(), f)).collect();
    let categories = new
        .categories
        .iter()
        .filter_map(|c| {
            let before = old.categories.iter().find(|o| o.id == c.id);
            let change = CategoryChange {
                id: c.id.id().to_string(),
                old_score: before.and_then(|b| b.score),
                new_score: c.score,
                old_findings: before.map(|b| b.findings).unwrap_or(0),
                new_findings: c.findings,
            };
            (change.old_score != change.new_score || change.old_findings != change.new_findings).then_some(change)
        })
        .collect();
    ReportDiff {
        old_score: old.score,
        new_score: new.score,
        old_grade: old.grade.to_string(),
        new_grade: new.grade.to_string(),
        new: new.findings.iter().filter(|f| !old_ids.contains_key(f.id.as_str())).map(finding_ref).collect(),
        fixed: old.findings.iter().filter(|f| !new_ids.contains_key(f.id.as_str())).map(finding_ref).collect(),
        unchanged: new.findings.iter().filter(|f| old_ids.contains_key(f.id.as_str())).map(finding_ref).collect(),
        categories,
    }
}

fn load(path: &Path) -> Result<Report, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| UsageError::new(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| UsageError::new(format!("{}: not a mortar JSON report (schema 1): {e}", path.display())))
}

fn list(title: &str, items: &[FindingRef], markdown: bool) -> String {
    let mut out = String::new();
    if items.is_empty() {
        return out;
    }
    if markdown {
        out.push_str(&format!(
            "\n### {title} ({})\n\n| severity | finding | where | id |\n|---|---|---|---|\n",
            items.len()
        ));
        for f in items {
            out.push_str(&format!("| {} | {} (`{}`) | `{}` | `{}` |\n", f.severity, f.title, f.check, f.place, f.id));
        }
    } else {
        out.push_str(&format!("\n{title} ({}):\n", items.len()));
        for f in items {
            out.push_str(&format!("  [{}] {}  {}  {}\n", f.severity.to_uppercase(), f.title, f.place, f.id));
        }
    }
    out
}

/// Renders a diff as text or Markdown.
pub fn render(d: &ReportDiff, markdown: bool) -> String {
    let delta = i32::from(d.new_score) - i32::from(d.old_score);
    let mut out = if markdown {
        format!(
            "## mortar diff\n\nScore **{} ({})** → **{} ({})** ({delta:+}); {} new, {} fixed, {} unchanged.\n",
            d.old_score,
            d.old_grade,
            d.new_score,
            d.new_grade,
            d.new.len(),
            d.fixed.len(),
            d.unchanged.len()
        )
    } else {
        format!(
            "score {} ({}) -> {} ({}) ({delta:+})\n{} new, {} fixed, {} unchanged\n",
            d.old_score,
            d.old_grade,
            d.new_score,
            d.new_grade,
            d.new.len(),
            d.fixed.len(),
            d.unchanged.len()
        )
    };
    out.push_str(&list("New", &d.new, markdown));
    out.push_str(&list("Fixed", &d.fixed, markdown));
    if !d.categories.is_empty() {
        let show = |s: Option<u8>| s.map(|v| v.to_string()).unwrap_or_else(|| "N/A".into());
        if markdown {
            out.push_str("\n### Categories\n\n| category | score | findings |\n|---|---|---|\n");
        } else {
            out.push_str("\ncategories:\n");
        }
        for c in &d.categories {
            let line = format!("{} -> {}", show(c.old_score), show(c.new_score));
            if markdown {
                out.push_str(&format!("| {} | {line} | {} -> {} |\n", c.id, c.old_findings, c.new_findings));
            } else {
                out.push_str(&format!(
                    "  {:<24} score {line}, findings {} -> {}\n",
                    c.id, c.old_findings, c.new_findings
                ));
            }
        }
    }
    out
}

/// `mortar diff`.
pub fn diff_command(args: &crate::cli::DiffArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let (old, new) = match (load(&args.old), load(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            error_line(stderr, &e.to_string());
            return exit::ERROR;
        }
    };
    let d = diff(&old, &new);
    let text = match args.format.as_str() {
        "json" => format!("{}\n", serde_json::to_string_pretty(&d).unwrap_or_default()),
        "markdown" => render(&d, true),
        _ => render(&d, false),
    };
    if let Err(e) = emit(stdout, text.as_bytes()) {
        error_line(stderr, &format!("cannot write output: {e}"));
        return exit::ERROR;
    }
    if d.new.is_empty() { exit::OK } else { exit::FAILED }
}

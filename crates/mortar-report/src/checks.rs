//! The output of `mortar checks`: a text table or a JSON array.

use crate::text::clean;
use mortar_model::CheckInfo;
use serde::Serialize;

/// One check as `mortar checks --format json` writes it.
#[derive(Serialize)]
struct CheckEntry<'a> {
    id: &'a str,
    category: &'a str,
    severity: &'a str,
    profile: &'a str,
    title: &'a str,
    description: &'a str,
    remediation: &'a str,
    references: CheckReferences<'a>,
}

/// A check's OWASP and CWE references.
#[derive(Serialize)]
struct CheckReferences<'a> {
    owasp_api: &'a [&'a str],
    cwe: &'a [&'a str],
}

/// A table of checks for a terminal: one line per check with its id,
/// category, default severity, profile and title, columns aligned, after a
/// header line. Ends with a newline.
pub fn render_checks_text(checks: &[CheckInfo]) -> String {
    const HEADERS: [&str; 5] = ["ID", "CATEGORY", "SEVERITY", "PROFILE", "TITLE"];
    let rows: Vec<[String; 5]> = checks
        .iter()
        .map(|c| {
            [
                clean(c.id),
                c.category.id().to_string(),
                c.severity.as_str().to_string(),
                c.profile.as_str().to_string(),
                clean(c.title),
            ]
        })
        .collect();
    let width = |col: usize| rows.iter().map(|r| r[col].chars().count()).chain([HEADERS[col].len()]).max().unwrap_or(0);
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));
    let mut out = String::new();
    let mut line = |cells: [&str; 5]| {
        let text = format!("{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}", cells[0], cells[1], cells[2], cells[3], cells[4]);
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(HEADERS);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    out
}

/// The checks as a pretty JSON array, ending with a newline. Each element is
/// `{id, category, severity, profile, title, description, remediation,
/// references: {owasp_api, cwe}}`, where `severity` is the default severity
/// and `remediation` the one-line summary of the fix.
pub fn render_checks_json(checks: &[CheckInfo]) -> String {
    let entries: Vec<CheckEntry<'_>> = checks
        .iter()
        .map(|c| CheckEntry {
            id: c.id,
            category: c.category.id(),
            severity: c.severity.as_str(),
            profile: c.profile.as_str(),
            title: c.title,
            description: c.description,
            remediation: c.remediation.summary,
            references: CheckReferences { owasp_api: c.references.owasp_api, cwe: c.references.cwe },
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&entries).expect("check metadata always serializes to JSON");
    out.push('\n');
    out
}

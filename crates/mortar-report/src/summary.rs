//! The human summary of a report, for a terminal.

use crate::text::{Painter, clean, sgr};
use mortar_model::{CheckStatus, Finding, FindingStatus, Report, Severity};
use std::fmt::Write as _;

/// How [`render_summary`] writes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SummaryOptions {
    /// Colour with ANSI SGR escapes. When false the output contains no escape
    /// byte at all (text from the target is escaped too). The caller decides:
    /// colour only on a TTY and never with `NO_COLOR`.
    pub color: bool,
}

/// A compact human summary of a report, ending with a newline.
///
/// In order: a header line (target, profile, duration), the grade and score
/// (and the gate score when it differs), the tested categories as a table and
/// one line naming the untested ones, check coverage (inconclusive checks with
/// their reason) and identities, the findings grouped by severity (critical
/// first) each with its fix and reproduce command, the network counters, and
/// the report's notes. The output depends only on the report.
pub fn render_summary(report: &Report, options: &SummaryOptions) -> String {
    let p = Painter { color: options.color };
    let mut out = String::new();
    header(&mut out, report, p);
    out.push('\n');
    categories(&mut out, report, p);
    out.push('\n');
    coverage(&mut out, report);
    out.push('\n');
    findings(&mut out, report, p);
    out.push('\n');
    stats(&mut out, report);
    for note in &report.notes {
        let _ = writeln!(out, "note: {}", clean(note));
    }
    out
}

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => sgr::BOLD_RED,
        Severity::High => sgr::RED,
        Severity::Medium => sgr::YELLOW,
        Severity::Low => sgr::CYAN,
        Severity::Info => sgr::DIM,
    }
}

fn grade_color(grade: &str) -> &'static str {
    match grade {
        "A" | "B" => sgr::GREEN,
        "C" | "D" => sgr::YELLOW,
        "F" => sgr::RED,
        _ => sgr::DIM,
    }
}

/// `850ms`, `12.3s`, `4m 05s`.
fn duration(ms: u64) -> String {
    if ms < 1_000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{}.{}s", ms / 1_000, (ms % 1_000) / 100)
    } else {
        let secs = ms / 1_000;
        format!("{}m {:02}s", secs / 60, secs % 60)
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn header(out: &mut String, report: &Report, p: Painter) {
    let _ = writeln!(
        out,
        "mortar scan of {}  profile {}  {}",
        clean(&report.target.url),
        report.profile,
        duration(report.duration_ms)
    );
    if let Some(spec) = &report.target.spec {
        let _ = writeln!(out, "spec: {}", clean(spec));
    }
    out.push('\n');
    let grade = report.grade.to_string();
    let big = p.paint(&format!("Grade {grade}"), &format!("{};{}", sgr::BOLD, grade_color(&grade)));
    let _ = write!(out, "{big}  score {}/100", report.score);
    if report.gate_score != report.score {
        let _ = write!(out, "  gate score {}/100", report.gate_score);
    }
    out.push('\n');
}

fn categories(out: &mut String, report: &Report, p: Painter) {
    let shown: Vec<_> = report.categories.iter().filter(|c| c.score.is_some() || c.findings > 0).collect();
    let untested: Vec<&str> =
        report.categories.iter().filter(|c| c.score.is_none() && c.findings == 0).map(|c| c.id.id()).collect();
    if shown.is_empty() {
        out.push_str("No category was tested.\n");
    } else {
        let w = shown.iter().map(|c| c.name.chars().count()).max().unwrap_or(0).max("category".len());
        let _ = writeln!(out, "  {:<w$}  {:>5}  {:<5}  {:>8}", "category", "score", "grade", "findings");
        for c in shown {
            let score = c.score.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
            let grade = p.paint(&format!("{:<5}", clean(&c.grade)), grade_color(&c.grade));
            let _ = writeln!(out, "  {:<w$}  {score:>5}  {grade}  {:>8}", clean(&c.name), c.findings);
        }
    }
    if !untested.is_empty() {
        let _ = writeln!(out, "Not tested: {}", untested.join(", "));
    }
}

fn coverage(out: &mut String, report: &Report) {
    let checks = &report.coverage.checks;
    let count = |status: CheckStatus| checks.iter().filter(|c| c.status == status).count();
    let _ = writeln!(
        out,
        "checks: {} ran, {} skipped, {} inconclusive",
        count(CheckStatus::Ran),
        count(CheckStatus::Skipped),
        count(CheckStatus::Inconclusive)
    );
    for c in checks.iter().filter(|c| c.status == CheckStatus::Inconclusive) {
        let reason = c.reason.as_deref().map(clean).unwrap_or_else(|| "no reason given".into());
        let _ = writeln!(out, "  inconclusive: {} ({reason})", clean(&c.check));
    }
    if !report.coverage.identities.is_empty() {
        let ids: Vec<String> = report
            .coverage
            .identities
            .iter()
            .map(|i| {
                let ops = plural(i.operations_reached.len(), "operation", "operations");
                if i.accepted {
                    format!("{} (accepted, {ops})", clean(&i.name))
                } else if i.preflight.is_empty() {
                    format!("{} (rejected, {ops})", clean(&i.name))
                } else {
                    format!("{} (rejected: {}, {ops})", clean(&i.name), clean(&i.preflight))
                }
            })
            .collect();
        let _ = writeln!(out, "identities: {}", ids.join(", "));
    }
}

/// Where a finding holds: `GET /path (+N more)` or `host-wide`.
fn place(f: &Finding) -> String {
    match &f.endpoint {
        Some(e) => {
            let more = f.affected.iter().filter(|a| a.method != e.method || a.path != e.path).count();
            let base = format!("{} {}", clean(&e.method), clean(&e.path));
            if more > 0 { format!("{base} (+{more} more)") } else { base }
        }
        None if f.affected.is_empty() => "host-wide".to_string(),
        None => format!("host-wide (+{} more)", f.affected.len()),
    }
}

fn findings(out: &mut String, report: &Report, p: Painter) {
    if report.findings.is_empty() {
        out.push_str("No findings.\n");
        return;
    }
    let counts: Vec<String> = Severity::ALL
        .into_iter()
        .filter_map(|sev| {
            let n = report.findings.iter().filter(|f| f.severity == sev).count();
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    let _ = writeln!(out, "{}: {}", plural(report.findings.len(), "finding", "findings"), counts.join(", "));
    for sev in Severity::ALL {
        let group: Vec<&Finding> = report.findings.iter().filter(|f| f.severity == sev).collect();
        if group.is_empty() {
            continue;
        }
        out.push('\n');
        let label = format!("[{}]", sev.as_str().to_ascii_uppercase());
        let label = p.paint(&format!("{label:<10}"), severity_color(sev));
        for f in group {
            let status = match f.status {
                FindingStatus::New => "",
                FindingStatus::Unchanged => "  (unchanged)",
                FindingStatus::Suppressed => "  (suppressed)",
            };
            let _ = writeln!(out, "{label} {}  {}  {}{status}", clean(&f.title), place(f), clean(&f.id));
            let fix = f.remediation.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
            let _ = writeln!(out, "           fix: {}", clean(fix));
            let reproduce: Vec<String> =
                f.reproduce.lines().map(|l| clean(l.trim_end())).filter(|l| !l.is_empty()).collect();
            let _ = writeln!(out, "           reproduce: {}", reproduce.join("\n                      "));
        }
    }
}

fn stats(out: &mut String, report: &Report) {
    let s = &report.stats;
    let _ = write!(
        out,
        "requests: {} sent, {} responses, {} errors, {} timeouts, {} rate-limited",
        s.requests, s.responses, s.errors, s.timeouts, s.rate_limited
    );
    if s.retries > 0 {
        let _ = write!(out, ", {} retried", s.retries);
    }
    if s.out_of_scope > 0 {
        let _ = write!(out, ", {} out of scope", s.out_of_scope);
    }
    if s.over_budget > 0 {
        let _ = write!(out, ", {} over budget", s.over_budget);
    }
    if s.deadline_reached {
        out.push_str("; deadline reached");
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_short_and_exact() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(12_345), "12.3s");
        assert_eq!(duration(245_000), "4m 05s");
    }
}

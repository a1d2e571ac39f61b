//! JUnit XML: one test case per check, failed by its findings at or above a severity.

use mortar_model::{CheckStatus, FindingStatus, Report, Severity};
use std::fmt::Write as _;

/// Text escaped for XML attributes and content; characters XML 1.0 cannot
/// carry are dropped.
pub use crate::text::escape_markup as escape_xml;

/// The report as JUnit XML: a test case per check in coverage, failed when the
/// check has a finding at or above `fail_on` (suppressed findings do not count),
/// skipped when the check did not run.
pub fn render_junit(report: &Report, fail_on: Severity) -> String {
    let mut cases = String::new();
    let mut failures = 0;
    let mut skipped = 0;
    for check in &report.coverage.checks {
        let failing: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.check == check.check && f.severity >= fail_on && f.status != FindingStatus::Suppressed)
            .collect();
        let _ = write!(
            cases,
            "    <testcase classname=\"mortar.{}\" name=\"{}\">",
            escape_xml(check.category.id()),
            escape_xml(&check.check)
        );
        if !failing.is_empty() {
            failures += 1;
            let mut text = String::new();
            for f in &failing {
                let place = f.endpoint.as_ref().map(|e| format!("{} {}", e.method, e.path));
                let _ = writeln!(
                    text,
                    "[{}] {} ({})\n{}\nreproduce: {}\n",
                    f.severity.as_str(),
                    f.title,
                    place.as_deref().unwrap_or("host-wide"),
                    f.description,
                    f.reproduce
                );
            }
            let _ = write!(
                cases,
                "\n      <failure message=\"{} finding(s) at or above {}\" type=\"{}\">{}</failure>\n    ",
                failing.len(),
                fail_on.as_str(),
                escape_xml(&check.check),
                escape_xml(&text)
            );
        } else if check.status == CheckStatus::Skipped {
            skipped += 1;
            let _ = write!(
                cases,
                "\n      <skipped message=\"{}\"/>\n    ",
                escape_xml(check.reason.as_deref().unwrap_or("not run"))
            );
        }
        cases.push_str("</testcase>\n");
    }
    let total = report.coverage.checks.len();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mortar\" tests=\"{total}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">\n  <testsuite name=\"mortar scan of {}\" tests=\"{total}\" failures=\"{failures}\" skipped=\"{skipped}\" timestamp=\"{}\">\n{cases}  </testsuite>\n</testsuites>\n",
        report.duration_ms as f64 / 1000.0,
        escape_xml(&report.target.url),
        escape_xml(&report.started_at),
    )
}

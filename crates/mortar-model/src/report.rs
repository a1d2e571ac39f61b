//! The JSON report, schema version 1 (schema committed at `schema/report.v1.json`).

use crate::gate::gated;
use crate::score::{Grade, score};
use crate::{Category, Coverage, Finding, Profile, sort_findings};
use serde::{Deserialize, Serialize};

/// The report's schema version.
pub const SCHEMA_VERSION: &str = "1";

/// The tool that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `mortar`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// What was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Base URL.
    pub url: String,
    /// The OpenAPI description used, if any.
    pub spec: Option<String>,
}

/// One category's line in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryScore {
    /// Category id.
    pub id: Category,
    /// Human name.
    pub name: String,
    /// 0-100, or `None` when no check of this category ran.
    pub score: Option<u8>,
    /// `A`..`F`, or `N/A`.
    pub grade: String,
    /// Findings in this category.
    pub findings: usize,
}

/// Counters of the scan's network activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Stats {
    /// Requests written to the wire (retries included).
    pub requests: u64,
    /// HTTP responses received.
    pub responses: u64,
    /// Requests that got no response (connect, TLS, I/O, malformed answer).
    pub errors: u64,
    /// Requests that ran out of time.
    pub timeouts: u64,
    /// 429 responses seen.
    pub rate_limited: u64,
    /// Requests sent again after a 429.
    pub retries: u64,
    /// Requests refused before sending because their host was out of scope.
    pub out_of_scope: u64,
    /// Requests refused because `--max-requests` was reached.
    pub over_budget: u64,
    /// Bytes written, TLS framing excluded.
    pub bytes_sent: u64,
    /// Body and header bytes read, before decompression.
    pub bytes_received: u64,
    /// Whether the whole-scan deadline (`--max-time`) cut the scan short.
    pub deadline_reached: bool,
}

/// A whole scan's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: String,
    /// The tool.
    pub tool: Tool,
    /// The target.
    pub target: TargetInfo,
    /// Profile used.
    pub profile: Profile,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// 0-100.
    pub score: u8,
    /// Grade of `score`.
    pub grade: Grade,
    /// The score the gates used: with a baseline, of new findings only.
    pub gate_score: u8,
    /// Every category, tested or not.
    pub categories: Vec<CategoryScore>,
    /// What was tested.
    pub coverage: Coverage,
    /// Findings, sorted by severity, confidence, check, method, path.
    pub findings: Vec<Finding>,
    /// Network counters.
    pub stats: Stats,
    /// Statements a reader must not miss (untested categories, active profile used).
    pub notes: Vec<String>,
    /// The findings grouped by OWASP API Security Top 10 2023 id and by CWE.
    #[serde(default)]
    pub compliance: Compliance,
}

/// Findings grouped by compliance references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Compliance {
    /// Every OWASP API Security Top 10 2023 risk, in list order, with the
    /// findings mapped to it (none is not a clean bill: see `categories`).
    pub owasp_api: Vec<ComplianceGroup>,
    /// Every CWE a finding maps to, by number.
    pub cwe: Vec<ComplianceGroup>,
}

/// The findings mapped to one reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceGroup {
    /// `API1:2023`, `CWE-639`.
    pub id: String,
    /// The risk's name (OWASP); `None` for CWE ids.
    pub name: Option<String>,
    /// Finding ids, in report order (suppressed ones too: each finding says so).
    pub findings: Vec<String>,
}

/// The OWASP API Security Top 10, 2023 edition.
pub const OWASP_API_TOP_10: [(&str, &str); 10] = [
    ("API1:2023", "Broken Object Level Authorization"),
    ("API2:2023", "Broken Authentication"),
    ("API3:2023", "Broken Object Property Level Authorization"),
    ("API4:2023", "Unrestricted Resource Consumption"),
    ("API5:2023", "Broken Function Level Authorization"),
    ("API6:2023", "Unrestricted Access to Sensitive Business Flows"),
    ("API7:2023", "Server Side Request Forgery"),
    ("API8:2023", "Security Misconfiguration"),
    ("API9:2023", "Improper Inventory Management"),
    ("API10:2023", "Unsafe Consumption of APIs"),
];

impl Compliance {
    /// Groups `findings` (already in report order).
    pub fn of(findings: &[Finding]) -> Compliance {
        let ids = |pick: &dyn Fn(&Finding) -> bool| -> Vec<String> {
            findings.iter().filter(|f| pick(f)).map(|f| f.id.clone()).collect()
        };
        let owasp_api = OWASP_API_TOP_10
            .iter()
            .map(|(id, name)| ComplianceGroup {
                id: (*id).to_string(),
                name: Some((*name).to_string()),
                findings: ids(&|f: &Finding| f.references.owasp_api.iter().any(|o| o == id)),
            })
            .collect();
        let mut cwes: Vec<String> = findings.iter().flat_map(|f| f.references.cwe.iter().cloned()).collect();
        let number = |c: &String| c.trim_start_matches("CWE-").parse::<u32>().unwrap_or(u32::MAX);
        cwes.sort_by_key(|c| (number(c), c.clone()));
        cwes.dedup();
        let cwe = cwes
            .into_iter()
            .map(|id| ComplianceGroup { findings: ids(&|f: &Finding| f.references.cwe.contains(&id)), id, name: None })
            .collect();
        Compliance { owasp_api, cwe }
    }
}

/// The parts of a report a scan produces; [`Report::assemble`] derives the rest.
#[derive(Debug, Clone)]
pub struct ReportParts {
    /// The tool.
    pub tool: Tool,
    /// The target.
    pub target: TargetInfo,
    /// Profile used.
    pub profile: Profile,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Coverage.
    pub coverage: Coverage,
    /// Findings, in any order.
    pub findings: Vec<Finding>,
    /// Network counters.
    pub stats: Stats,
    /// Extra notes from the scan.
    pub notes: Vec<String>,
}

impl Report {
    /// Scores, sorts and annotates a scan's results into a report.
    pub fn assemble(parts: ReportParts) -> Report {
        let ReportParts { tool, target, profile, started_at, duration_ms, coverage, mut findings, stats, mut notes } =
            parts;
        sort_findings(&mut findings);
        let tested = coverage.tested_categories();
        let counted: Vec<&Finding> = findings.iter().filter(|f| f.status != crate::FindingStatus::Suppressed).collect();
        let card = score(counted.iter().copied(), &tested);
        let gate_card = score(findings.iter().filter(|f| gated(f)), &tested);
        let categories: Vec<CategoryScore> = card
            .categories
            .iter()
            .map(|(cat, value)| CategoryScore {
                id: *cat,
                name: cat.name().to_string(),
                score: *value,
                grade: value.map(|v| Grade::of(v).to_string()).unwrap_or_else(|| "N/A".to_string()),
                findings: findings.iter().filter(|f| f.category == *cat).count(),
            })
            .collect();
        let untested: Vec<&str> = categories.iter().filter(|c| c.score.is_none()).map(|c| c.id.id()).collect();
        if !untested.is_empty() {
            notes.push(format!(
                "{} of {} categories were not tested and do not count in the score: {}",
                untested.len(),
                categories.len(),
                untested.join(", ")
            ));
        }
        if profile == Profile::Active {
            notes.push("The active profile was used: probes that change state may have been sent.".into());
        }
        Report {
            schema_version: SCHEMA_VERSION.to_string(),
            tool,
            target,
            profile,
            started_at,
            duration_ms,
            score: card.total,
            grade: Grade::of(card.total),
            gate_score: gate_card.total,
            categories,
            coverage,
            compliance: Compliance::of(&findings),
            findings,
            stats,
            notes,
        }
    }
}

//! CI gates: `--threshold` and `--fail-on`.

use crate::{Finding, FindingStatus, Severity};

/// The gates a user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gates {
    /// Fail when the gated score is below this (0-100).
    pub threshold: Option<u8>,
    /// Fail when a gated finding is at least this severe.
    pub fail_on: Option<Severity>,
}

/// Whether the gates passed, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateOutcome {
    /// True when every gate passed.
    pub passed: bool,
    /// One line per failed gate.
    pub failures: Vec<String>,
}

/// Whether a finding counts for gates and the gated score: not suppressed, and
/// new when a baseline was given.
pub fn gated(finding: &Finding) -> bool {
    matches!(finding.status, FindingStatus::New)
}

impl Gates {
    /// Evaluates the gates on a gated score and the report's findings.
    pub fn evaluate(&self, gate_score: u8, findings: &[Finding]) -> GateOutcome {
        let mut failures = Vec::new();
        if let Some(threshold) = self.threshold
            && gate_score < threshold
        {
            failures.push(format!("score {gate_score} is below the threshold {threshold}"));
        }
        if let Some(level) = self.fail_on {
            let count = findings.iter().filter(|f| gated(f) && f.severity >= level).count();
            if count > 0 {
                failures.push(format!("{count} finding(s) at or above {level}"));
            }
        }
        GateOutcome { passed: failures.is_empty(), failures }
    }
}

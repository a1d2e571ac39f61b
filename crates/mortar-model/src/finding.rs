//! Findings, their evidence, their ids, and aggregation of observations into findings.

use crate::{Category, CheckInfo, Confidence, Severity};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// An operation: method and path template (`GET /users/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template relative to the server root, e.g. `/api/users/{id}`.
    pub path: String,
}

impl Endpoint {
    /// A new endpoint.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Endpoint {
        Endpoint { method: method.into().to_ascii_uppercase(), path: path.into() }
    }
}

/// One place where a finding's issue holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Affected {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template.
    pub path: String,
}

/// How a captured body is written in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    /// The body is valid UTF-8 and stored as text.
    Utf8,
    /// The body is binary and stored as standard base64.
    Base64,
}

/// A captured body: redacted, then truncated, then encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The (possibly truncated) content, as text or base64.
    pub content: String,
    /// How `content` is encoded.
    pub encoding: BodyEncoding,
    /// Whether the content was cut at the evidence cap.
    pub truncated: bool,
    /// Size in bytes of the whole body as received (after decompression).
    pub size: u64,
}

/// The request half of an evidence pair, as sent (secrets redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRequest {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// `HTTP/1.1` or `HTTP/2`.
    pub http_version: String,
    /// Headers in order, as `[name, value]`.
    pub headers: Vec<(String, String)>,
    /// Body, if any was sent.
    pub body: Option<Body>,
}

/// The response half of an evidence pair (secrets redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceResponse {
    /// Status code.
    pub status: u16,
    /// `HTTP/1.1` or `HTTP/2`.
    pub http_version: String,
    /// Headers in order, as `[name, value]`.
    pub headers: Vec<(String, String)>,
    /// Body, if the response had one.
    pub body: Option<Body>,
    /// Time from sending the request to the end of the body.
    pub elapsed_ms: u64,
}

/// A request and what came back, proving part of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// What this exchange shows.
    pub note: String,
    /// The request sent.
    pub request: EvidenceRequest,
    /// The response, or `None` when the failure to answer is the evidence.
    pub response: Option<EvidenceResponse>,
    /// The transport outcome when there was no response (e.g. a TLS alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether a finding is new relative to a baseline or suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FindingStatus {
    /// Not in the baseline (or no baseline given).
    #[default]
    New,
    /// In the baseline too.
    Unchanged,
    /// Accepted by a suppression; does not gate.
    Suppressed,
}

/// OWASP and CWE references as stored in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingReferences {
    /// OWASP API Security Top 10 2023 ids.
    pub owasp_api: Vec<String>,
    /// CWE ids.
    pub cwe: Vec<String>,
}

/// One issue, aggregated over every endpoint where it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: see [`finding_id`].
    pub id: String,
    /// Check id.
    pub check: String,
    /// Category id.
    pub category: Category,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// One line.
    pub title: String,
    /// What was seen and why it matters.
    pub description: String,
    /// The representative endpoint, or `None` for a host-wide issue.
    pub endpoint: Option<Endpoint>,
    /// Every endpoint where the same issue holds.
    pub affected: Vec<Affected>,
    /// The tested component (parameter, header, property), part of the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Request/response pairs that prove it.
    pub evidence: Vec<Evidence>,
    /// A command that reproduces it, with `$MORTAR_...` placeholders for secrets.
    pub reproduce: String,
    /// How to fix it.
    pub remediation: String,
    /// OWASP API Top 10 and CWE.
    pub references: FindingReferences,
    /// New, unchanged or suppressed.
    pub status: FindingStatus,
}

/// The stable id of a finding: a hash of the check id, method, path template and
/// tested component, never of scheme, host, port, evidence or time.
pub fn finding_id(check: &str, endpoint: Option<&Endpoint>, component: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    for part in [
        check,
        endpoint.map(|e| e.method.as_str()).unwrap_or(""),
        endpoint.map(|e| e.path.as_str()).unwrap_or(""),
        component.unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("MRT-{hex}")
}

/// What a check reports: one occurrence of an issue at one place. The runner
/// merges observations of the same check and component into one [`Finding`].
#[derive(Debug, Clone)]
pub struct Observation {
    /// Where it was seen, or `None` for host-wide.
    pub endpoint: Option<Endpoint>,
    /// The tested component; observations differing here are separate findings.
    pub component: Option<String>,
    /// Overrides the check's default severity.
    pub severity: Option<Severity>,
    /// How strongly the evidence proves it.
    pub confidence: Confidence,
    /// Overrides the check's title.
    pub title: Option<String>,
    /// What was seen, specifically.
    pub description: String,
    /// Proof.
    pub evidence: Vec<Evidence>,
    /// A reproduce command for this occurrence.
    pub reproduce: String,
}

impl Observation {
    /// A confirmed observation at `endpoint`, with the check's own title and
    /// severity; set `component` or the overrides on the result when needed.
    pub fn confirmed(
        endpoint: Endpoint,
        description: String,
        evidence: Vec<Evidence>,
        reproduce: String,
    ) -> Observation {
        Observation {
            endpoint: Some(endpoint),
            component: None,
            severity: None,
            confidence: Confidence::Confirmed,
            title: None,
            description,
            evidence,
            reproduce,
        }
    }
}

/// How many evidence pairs one finding keeps, to bound report size.
pub const MAX_EVIDENCE_PER_FINDING: usize = 4;

/// Merges a check's observations into findings: one per (check, component), the
/// worst severity and strongest confidence, every endpoint in `affected`.
pub fn aggregate(info: &CheckInfo, observations: Vec<Observation>, remediation: &str) -> Vec<Finding> {
    let mut groups: BTreeMap<Option<String>, Vec<Observation>> = BTreeMap::new();
    for obs in observations {
        groups.entry(obs.component.clone()).or_default().push(obs);
    }
    let mut findings = Vec::new();
    for (component, mut group) in groups {
        // Deterministic order whatever order the checks' tasks finished in.
        group.sort_by(|a, b| {
            b.severity
                .unwrap_or(info.severity)
                .cmp(&a.severity.unwrap_or(info.severity))
                .then(b.confidence.cmp(&a.confidence))
                .then(a.endpoint.cmp(&b.endpoint))
        });
        let mut affected: Vec<Affected> = group
            .iter()
            .filter_map(|o| o.endpoint.as_ref())
            .map(|e| Affected { method: e.method.clone(), path: e.path.clone() })
            .collect();
        affected.sort();
        affected.dedup();
        let endpoint = group.iter().filter_map(|o| o.endpoint.clone()).min();
        let first = &group[0];
        let evidence: Vec<Evidence> =
            group.iter().flat_map(|o| o.evidence.iter().cloned()).take(MAX_EVIDENCE_PER_FINDING).collect();
        findings.push(Finding {
            id: finding_id(info.id, endpoint.as_ref(), component.as_deref()),
            check: info.id.to_string(),
            category: info.category,
            severity: first.severity.unwrap_or(info.severity),
            confidence: first.confidence,
            title: first.title.clone().unwrap_or_else(|| info.title.to_string()),
            description: first.description.clone(),
            endpoint,
            affected,
            component,
            evidence,
            reproduce: first.reproduce.clone(),
            remediation: remediation.to_string(),
            references: FindingReferences {
                owasp_api: info.references.owasp_api.iter().map(|s| s.to_string()).collect(),
                cwe: info.references.cwe.iter().map(|s| s.to_string()).collect(),
            },
            status: FindingStatus::New,
        });
    }
    findings
}

/// Sorts findings by severity, confidence, check, method, path (the contract's order).
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.confidence.cmp(&a.confidence))
            .then_with(|| a.check.cmp(&b.check))
            .then_with(|| endpoint_key(a).cmp(&endpoint_key(b)))
            .then_with(|| a.id.cmp(&b.id))
    });
}

fn endpoint_key(f: &Finding) -> (&str, &str) {
    f.endpoint.as_ref().map(|e| (e.method.as_str(), e.path.as_str())).unwrap_or(("", ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Profile, References, Remediation};

    const INFO: CheckInfo = CheckInfo {
        id: "misconfiguration.example",
        category: Category::Misconfiguration,
        severity: Severity::Medium,
        profile: Profile::Passive,
        title: "Example",
        description: "d",
        remediation: Remediation { summary: "s", actix_web: "a", axum: "x" },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-1"] },
    };

    fn obs(path: &str, component: Option<&str>) -> Observation {
        Observation {
            endpoint: Some(Endpoint::new("get", path)),
            component: component.map(String::from),
            severity: None,
            confidence: Confidence::Firm,
            title: None,
            description: "seen".into(),
            evidence: vec![],
            reproduce: "curl".into(),
        }
    }

    #[test]
    fn id_ignores_host_and_depends_on_place_and_component() {
        let e = Endpoint::new("GET", "/users/{id}");
        let a = finding_id("bola.x", Some(&e), Some("id"));
        assert_eq!(a, finding_id("bola.x", Some(&e), Some("id")));
        assert_ne!(a, finding_id("bola.x", Some(&e), Some("other")));
        assert_ne!(a, finding_id("bola.x", Some(&Endpoint::new("PUT", "/users/{id}")), Some("id")));
        assert!(a.starts_with("MRT-") && a.len() == 20);
    }

    #[test]
    fn aggregates_one_finding_per_component_with_every_endpoint() {
        let found =
            aggregate(&INFO, vec![obs("/b", None), obs("/a", None), obs("/a", None), obs("/c", Some("X-H"))], "fix");
        assert_eq!(found.len(), 2);
        let host_wide = found.iter().find(|f| f.component.is_none()).unwrap();
        assert_eq!(host_wide.affected.len(), 2);
        assert_eq!(host_wide.endpoint.as_ref().unwrap().path, "/a");
        // Order of observations does not change the result.
        let again = aggregate(&INFO, vec![obs("/a", None), obs("/b", None)], "fix");
        assert_eq!(again[0].id, host_wide.id);
    }
}

//! SARIF 2.1.0 for GitHub code scanning: one rule per check, one result per finding.

use mortar_model::{CheckInfo, Finding, Report, Severity};
use serde_json::{Value, json};

/// Most results in one SARIF run that GitHub code scanning accepts.
pub const MAX_RESULTS: usize = 25_000;

/// Longest evidence excerpt (characters) kept in a result's properties.
const EVIDENCE_CHARS: usize = 2_000;

/// The SARIF `level` of a severity.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (a CVSS-like 0.0-10.0 string) of a severity.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The repository-relative pseudo-path a finding is located at: the API has no
/// source file, so each endpoint gets a stable path of its own (host-wide
/// findings one per check), which GitHub uses to group and track results.
pub fn pseudo_path(finding: &Finding) -> String {
    match &finding.endpoint {
        Some(e) => {
            let path: String = e
                .path
                .trim_start_matches('/')
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.') { c } else { '_' })
                .collect();
            let path = if path.is_empty() { "_root".to_string() } else { path };
            format!("api/{}/{}", path, e.method.to_ascii_uppercase())
        }
        None => format!("api/_host/{}", finding.check),
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… (truncated)", &text[..cut]),
        None => text.to_string(),
    }
}

fn rule(info: &CheckInfo) -> Value {
    let mut tags = vec!["security".to_string(), info.category.id().to_string()];
    tags.extend(info.references.owasp_api.iter().map(|o| format!("OWASP-{o}")));
    tags.extend(info.references.cwe.iter().map(|c| format!("external/cwe/{}", c.to_ascii_lowercase())));
    let help = format!(
        "{}\n\nFix: {}\n\nactix-web: {}\n\naxum: {}",
        info.description, info.remediation.summary, info.remediation.actix_web, info.remediation.axum
    );
    let help_markdown = format!(
        "{}\n\n**Fix:** {}\n\n**actix-web:** {}\n\n**axum:** {}",
        info.description, info.remediation.summary, info.remediation.actix_web, info.remediation.axum
    );
    json!({
        "id": info.id,
        "name": info.id.replace(['.', '-'], "_"),
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.description},
        "help": {"text": help, "markdown": help_markdown},
        "defaultConfiguration": {"level": level(info.severity)},
        "properties": {
            "tags": tags,
            "security-severity": security_severity(info.severity),
            "precision": "high",
        },
    })
}

/// Where the API description defines one operation: the physical location
/// of its findings in SARIF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecLocation {
    /// Upper-case method.
    pub method: String,
    /// Path template as findings name it (base path included).
    pub path: String,
    /// The description file: a path relative to the repository root (the
    /// working directory), or an absolute URI (`file://`, `https://`).
    pub uri: String,
    /// Whether `uri` is relative to the repository root.
    pub relative: bool,
    /// 1-based line of the operation.
    pub line: u32,
}

/// The operation's line in the description when known, else a
/// repository-relative pseudo-path per endpoint (line 1).
fn physical_location(finding: &Finding, spec: &[SpecLocation]) -> Value {
    let found = finding
        .endpoint
        .as_ref()
        .and_then(|e| spec.iter().find(|s| s.method.eq_ignore_ascii_case(&e.method) && s.path == e.path));
    match found {
        Some(s) if s.relative => json!({
            "artifactLocation": {"uri": s.uri, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": s.line}
        }),
        Some(s) => json!({"artifactLocation": {"uri": s.uri}, "region": {"startLine": s.line}}),
        None => json!({
            "artifactLocation": {"uri": pseudo_path(finding), "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 1}
        }),
    }
}

fn result(finding: &Finding, rule_index: Option<usize>, spec: &[SpecLocation]) -> Value {
    let logical = finding.endpoint.as_ref().map(|e| format!("{} {}", e.method, e.path));
    let mut location = json!({"physicalLocation": physical_location(finding, spec)});
    if let Some(name) = &logical {
        location["logicalLocations"] = json!([{"fullyQualifiedName": name, "kind": "resource"}]);
    }
    let evidence: Vec<Value> = finding
        .evidence
        .iter()
        .map(|e| {
            let response = e.response.as_ref().map(|r| {
                let body = r.body.as_ref().map(|b| truncate(&b.content, EVIDENCE_CHARS));
                json!({"status": r.status, "body": body})
            });
            json!({"note": e.note, "request": format!("{} {}", e.request.method, e.request.url), "response": response})
        })
        .collect();
    let mut value = json!({
        "ruleId": finding.check,
        "level": level(finding.severity),
        "message": {"text": format!("{}: {}", finding.title, truncate(&finding.description, 1_000))},
        "locations": [location],
        "partialFingerprints": {"mortarFindingId/v1": finding.id},
        "properties": {
            "severity": finding.severity.as_str(),
            "confidence": finding.confidence.as_str(),
            "security-severity": security_severity(finding.severity),
            "status": finding.status,
            "affected": finding.affected.iter().map(|a| format!("{} {}", a.method, a.path)).collect::<Vec<_>>(),
            "reproduce": finding.reproduce,
            "remediation": finding.remediation,
            "evidence": evidence,
        },
    });
    if let Some(index) = rule_index {
        value["ruleIndex"] = json!(index);
    }
    value
}

/// The report as SARIF 2.1.0. `catalogue` gives the rules (one per check);
/// a finding of a check missing from it still gets a minimal rule. `spec`
/// places findings of described operations at their line in the description.
pub fn render_sarif(report: &Report, catalogue: &[CheckInfo], spec: &[SpecLocation]) -> String {
    let mut rules: Vec<Value> = catalogue.iter().map(rule).collect();
    let mut ids: Vec<String> = catalogue.iter().map(|c| c.id.to_string()).collect();
    for f in &report.findings {
        if !ids.contains(&f.check) {
            ids.push(f.check.clone());
            rules.push(json!({
                "id": f.check,
                "shortDescription": {"text": f.title},
                "defaultConfiguration": {"level": level(f.severity)},
                "properties": {"tags": ["security", f.category.id()], "security-severity": security_severity(f.severity)}
            }));
        }
    }
    let results: Vec<Value> = report
        .findings
        .iter()
        .take(MAX_RESULTS)
        .map(|f| result(f, ids.iter().position(|id| *id == f.check), spec))
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "informationUri": "https://github.com/mortar-scanner/mortar",
                "rules": rules,
            }},
            "invocations": [{"executionSuccessful": true, "startTimeUtc": report.started_at}],
            "properties": {
                "target": report.target.url,
                "score": report.score,
                "grade": report.grade.to_string(),
                "truncatedResults": report.findings.len() > MAX_RESULTS,
            },
            "results": results,
        }]
    });
    let mut out = serde_json::to_string_pretty(&sarif).expect("SARIF is plain JSON");
    out.push('\n');
    out
}

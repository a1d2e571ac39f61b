//! Tests of the schema and the renderers against a realistic, hand-built report.

use crate::{REPORT_SCHEMA, SummaryOptions, render_checks_json, render_checks_text, render_json, render_summary};
use mortar_model::coverage::{OperationReach, SkippedOperation};
use mortar_model::finding::FindingReferences;
use mortar_model::report::ReportParts;
use mortar_model::{
    Affected, Body, BodyEncoding, Category, CheckCoverage, CheckInfo, CheckStatus, Confidence, Coverage, Endpoint,
    Evidence, EvidenceRequest, EvidenceResponse, Finding, FindingStatus, IdentityCoverage, Profile, References,
    Remediation, Report, Severity, Stats, TargetInfo, Tool, finding_id,
};
use serde_json::{Value, json};

/// Validates a JSON value against [`REPORT_SCHEMA`], listing every error.
fn validate_report_json(value: &Value) -> Result<(), Vec<String>> {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

fn text_body(content: &str) -> Body {
    Body { content: content.into(), encoding: BodyEncoding::Utf8, truncated: false, size: content.len() as u64 }
}

fn request(method: &str, url: &str, hdrs: &[(&str, &str)], body: Option<Body>) -> EvidenceRequest {
    EvidenceRequest {
        method: method.into(),
        url: url.into(),
        http_version: "HTTP/1.1".into(),
        headers: headers(hdrs),
        body,
    }
}

fn finding(
    check: &str,
    category: Category,
    severity: Severity,
    confidence: Confidence,
    title: &str,
    endpoint: Option<Endpoint>,
    component: Option<&str>,
) -> Finding {
    let affected = endpoint.iter().map(|e| Affected { method: e.method.clone(), path: e.path.clone() }).collect();
    Finding {
        id: finding_id(check, endpoint.as_ref(), component),
        check: check.into(),
        category,
        severity,
        confidence,
        title: title.into(),
        description: format!("{title}: seen on the target."),
        endpoint,
        affected,
        component: component.map(String::from),
        evidence: vec![],
        reproduce: format!("curl -sk https://127.0.0.1:8443/ -H 'Authorization: $MORTAR_{}'", check.len()),
        remediation: "Fix it at the source.\n\nactix-web: do this.\n\naxum: do that.".into(),
        references: FindingReferences { owasp_api: vec!["API1:2023".into()], cwe: vec!["CWE-639".into()] },
        status: FindingStatus::New,
    }
}

fn sample_findings() -> Vec<Finding> {
    // Critical, confirmed BOLA on two endpoints, proven with two identities; UTF-8 bodies.
    let mut bola = finding(
        "bola.cross-identity-read",
        Category::Bola,
        Severity::Critical,
        Confidence::Confirmed,
        "Another user's object is readable",
        Some(Endpoint::new("GET", "/api/orders/{id}")),
        Some("id"),
    );
    bola.affected.push(Affected { method: "GET".into(), path: "/api/users/{id}".into() });
    bola.evidence = vec![Evidence {
        note: "bob read alice's order 17".into(),
        request: request(
            "GET",
            "https://127.0.0.1:8443/api/orders/17",
            &[("host", "127.0.0.1:8443"), ("authorization", "Bearer [REDACTED]")],
            None,
        ),
        response: Some(EvidenceResponse {
            status: 200,
            http_version: "HTTP/1.1".into(),
            headers: headers(&[("content-type", "application/json")]),
            body: Some(text_body(r#"{"id":17,"owner":"alice","total":42}"#)),
            elapsed_ms: 3,
        }),
        error: None,
    }];

    // Medium misconfiguration, host-wide, with a binary (base64) body and a POST body.
    let mut cors = finding(
        "misconfiguration.reflected-origin",
        Category::Misconfiguration,
        Severity::Medium,
        Confidence::Firm,
        "CORS reflects any origin with credentials",
        None,
        Some("Origin"),
    );
    cors.evidence = vec![Evidence {
        note: "an arbitrary origin is reflected".into(),
        request: request(
            "POST",
            "https://127.0.0.1:8443/api/login",
            &[("origin", "https://evil.example")],
            Some(text_body(r#"{"user":"alice","password":"[REDACTED]"}"#)),
        ),
        response: Some(EvidenceResponse {
            status: 204,
            http_version: "HTTP/2".into(),
            headers: headers(&[
                ("access-control-allow-origin", "https://evil.example"),
                ("access-control-allow-credentials", "true"),
            ]),
            body: Some(Body {
                content: "iVBORw0KGgo=".into(),
                encoding: BodyEncoding::Base64,
                truncated: true,
                size: 4096,
            }),
            elapsed_ms: 5,
        }),
        error: None,
    }];

    // Low encryption finding whose evidence is a refused handshake (no response).
    let mut tls = finding(
        "encryption.legacy-tls",
        Category::Encryption,
        Severity::Low,
        Confidence::Tentative,
        "TLS 1.0 is accepted",
        None,
        None,
    );
    tls.evidence = vec![Evidence {
        note: "handshake".into(),
        request: request("GET", "https://127.0.0.1:8443/", &[], None),
        response: None,
        error: Some("TLS alert: protocol version".into()),
    }];
    tls.status = FindingStatus::Unchanged;

    // Findings given out of order: assemble sorts them.
    vec![tls, cors, bola]
}

fn coverage() -> Coverage {
    let check = |id: &str, category, status, reason: Option<&str>, requests| CheckCoverage {
        check: id.into(),
        category,
        status,
        reason: reason.map(String::from),
        requests,
    };
    Coverage {
        checks: vec![
            check("bola.cross-identity-read", Category::Bola, CheckStatus::Ran, None, 12),
            check("misconfiguration.reflected-origin", Category::Misconfiguration, CheckStatus::Ran, None, 4),
            check("encryption.legacy-tls", Category::Encryption, CheckStatus::Ran, Some("1 handshake"), 1),
            check("inventory.old-versions", Category::Inventory, CheckStatus::Ran, None, 6),
            check("data-exposure.secrets", Category::DataExposure, CheckStatus::Ran, None, 0),
            check(
                "race-condition.limit-overrun",
                Category::RaceCondition,
                CheckStatus::Skipped,
                Some("needs the active profile"),
                0,
            ),
            check("mtls.forged-client-cert", Category::Mtls, CheckStatus::Skipped, Some("no client certificate"), 0),
            check(
                "rate-limiting.login-burst",
                Category::RateLimiting,
                CheckStatus::Inconclusive,
                Some("deadline reached"),
                20,
            ),
        ],
        identities: vec![
            IdentityCoverage {
                name: "alice".into(),
                accepted: true,
                preflight: "200 OK".into(),
                logins: 1,
                lost_after: None,
                used_by: vec!["bola.cross-identity-read".into()],
                operations_reached: vec![OperationReach {
                    method: "GET".into(),
                    path: "/api/orders/{id}".into(),
                    statuses: vec![200, 404],
                    probed_with: vec!["GET".into()],
                }],
            },
            IdentityCoverage {
                name: "bob".into(),
                accepted: false,
                preflight: "401 Unauthorized".into(),
                logins: 0,
                lost_after: None,
                used_by: vec![],
                operations_reached: vec![],
            },
        ],
        skipped_operations: vec![SkippedOperation {
            file: "openapi.yaml".into(),
            pointer: "/paths/~1upload/post".into(),
            line: Some(42),
            reason: "multipart/form-data body with a binary part".into(),
        }],
    }
}

fn sample_report() -> Report {
    Report::assemble(ReportParts {
        tool: Tool { name: "mortar".into(), version: "0.1.0".into() },
        target: TargetInfo {
            url: "https://127.0.0.1:8443".into(),
            spec: Some("https://127.0.0.1:8443/openapi.json".into()),
        },
        profile: Profile::Standard,
        started_at: "2024-05-01T10:00:00Z".into(),
        duration_ms: 12_345,
        coverage: coverage(),
        findings: sample_findings(),
        stats: Stats { requests: 43, responses: 41, errors: 1, timeouts: 1, rate_limited: 2, ..Stats::default() },
        notes: vec![],
    })
}

fn empty_report() -> Report {
    Report::assemble(ReportParts {
        tool: Tool { name: "mortar".into(), version: "0.1.0".into() },
        target: TargetInfo { url: "http://localhost:8080".into(), spec: None },
        profile: Profile::Passive,
        started_at: "2024-05-01T10:00:00.5+02:00".into(),
        duration_ms: 0,
        coverage: Coverage::default(),
        findings: vec![],
        stats: Stats::default(),
        notes: vec![],
    })
}

/// The one check the sample's SARIF rules describe.
fn sample_catalogue() -> [mortar_model::CheckInfo; 1] {
    [mortar_model::CheckInfo {
        id: "bola.cross-identity-read",
        category: Category::Bola,
        severity: Severity::High,
        profile: mortar_model::Profile::Standard,
        title: "Object readable by another identity",
        description: "Reads objects as another identity.",
        remediation: mortar_model::Remediation { summary: "Check ownership.", actix_web: "a", axum: "b" },
        references: mortar_model::References { owasp_api: &["API1:2023"], cwe: &["CWE-639"] },
    }]
}

fn sample_value() -> Value {
    serde_json::to_value(sample_report()).unwrap()
}

// ---------------------------------------------------------------- schema

#[test]
fn schema_is_a_draft_2020_12_schema_with_an_id() {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert!(schema["$id"].as_str().unwrap().ends_with("report.v1.json"));
    assert!(schema["title"].is_string() && schema["description"].is_string());
    jsonschema::validator_for(&schema).unwrap();
    assert!(jsonschema::meta::is_valid(&schema), "the schema must be valid against its meta-schema");
}

/// Every object in the schema is closed, requires what serde always writes,
/// and every property carries a title and a description (user documentation).
#[test]
fn schema_documents_every_property_and_closes_every_object() {
    fn walk(node: &Value, path: &str, seen: &mut usize) {
        match node {
            Value::Object(map) => {
                if let Some(Value::Object(props)) = map.get("properties") {
                    assert_eq!(map.get("additionalProperties"), Some(&Value::Bool(false)), "{path} is not closed");
                    assert!(map.get("required").is_some_and(Value::is_array), "{path} has no required list");
                    for (name, prop) in props {
                        *seen += 1;
                        let here = format!("{path}.{name}");
                        assert!(prop["description"].as_str().is_some_and(|d| !d.is_empty()), "{here}: no description");
                        assert!(prop["title"].is_string(), "{here}: no title");
                    }
                }
                for (key, child) in map {
                    walk(child, &format!("{path}/{key}"), seen);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, path, seen)),
            _ => {}
        }
    }
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    let mut seen = 0;
    walk(&schema, "#", &mut seen);
    assert!(seen > 60, "only {seen} properties documented");
}

#[test]
fn enums_in_the_schema_match_the_model() {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    let cats: Vec<Value> = Category::ALL.iter().map(|c| serde_json::to_value(c).unwrap()).collect();
    assert_eq!(schema["$defs"]["category"]["enum"], Value::Array(cats));
    let sevs: Vec<Value> = Severity::ALL.iter().map(|s| serde_json::to_value(s).unwrap()).collect();
    assert_eq!(schema["$defs"]["severity"]["enum"], Value::Array(sevs));
}

#[test]
fn a_realistic_report_validates() {
    let value = sample_value();
    // The sample exercises what the schema has to describe.
    let findings = value["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    assert!(findings.iter().any(|f| f.get("component").is_some()));
    assert!(findings.iter().any(|f| f.get("component").is_none()));
    assert!(findings.iter().any(|f| f["endpoint"].is_null()));
    let text = value.to_string();
    assert!(text.contains(r#""encoding":"base64""#) && text.contains(r#""encoding":"utf8""#));
    assert!(text.contains(r#""error":"TLS alert"#));
    if let Err(errors) = validate_report_json(&value) {
        panic!("the report does not validate:\n{}", errors.join("\n"));
    }
}

#[test]
fn an_empty_passive_report_validates() {
    let value = serde_json::to_value(empty_report()).unwrap();
    assert!(value["target"]["spec"].is_null());
    assert!(value["categories"].as_array().unwrap().iter().all(|c| c["score"].is_null() && c["grade"] == "N/A"));
    validate_report_json(&value).unwrap();
}

#[test]
fn render_json_is_pretty_parses_back_and_validates() {
    let report = sample_report();
    let text = render_json(&report);
    assert!(text.ends_with("}\n"));
    assert!(text.contains("\n  \"schema_version\": \"1\",\n"));
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value, serde_json::to_value(&report).unwrap());
    let back: Report = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(back, report);
    validate_report_json(&value).unwrap();
}

/// Each broken copy must be rejected: the schema is strict.
#[test]
fn broken_reports_do_not_validate() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("unknown severity", Box::new(|v| v["findings"][0]["severity"] = json!("severe"))),
        ("unknown confidence", Box::new(|v| v["findings"][0]["confidence"] = json!("sure"))),
        ("unknown status", Box::new(|v| v["findings"][0]["status"] = json!("fixed"))),
        ("extra top-level field", Box::new(|v| v["extra"] = json!(1))),
        ("extra field in a body", Box::new(|v| v["findings"][0]["evidence"][0]["response"]["body"]["x"] = json!(1))),
        ("missing gate_score", Box::new(|v| drop(v.as_object_mut().unwrap().remove("gate_score")))),
        ("missing stats field", Box::new(|v| drop(v["stats"].as_object_mut().unwrap().remove("timeouts")))),
        (
            "missing endpoint (must be null)",
            Box::new(|v| drop(v["findings"][0].as_object_mut().unwrap().remove("endpoint"))),
        ),
        ("wrong schema version", Box::new(|v| v["schema_version"] = json!("2"))),
        ("score above 100", Box::new(|v| v["score"] = json!(101))),
        ("negative duration", Box::new(|v| v["duration_ms"] = json!(-1))),
        ("score as a string", Box::new(|v| v["gate_score"] = json!("80"))),
        ("grade E", Box::new(|v| v["grade"] = json!("E"))),
        ("grade N/A at the top level", Box::new(|v| v["grade"] = json!("N/A"))),
        ("category grade G", Box::new(|v| v["categories"][0]["grade"] = json!("G"))),
        ("unknown category", Box::new(|v| v["categories"][0]["id"] = json!("xss"))),
        ("15 categories", Box::new(|v| drop(v["categories"].as_array_mut().unwrap().pop()))),
        ("bad finding id", Box::new(|v| v["findings"][0]["id"] = json!("MRT-XYZ"))),
        ("bad check id", Box::new(|v| v["findings"][0]["check"] = json!("Bola"))),
        ("bad coverage check id", Box::new(|v| v["coverage"]["checks"][0]["check"] = json!("bola"))),
        ("unknown check status", Box::new(|v| v["coverage"]["checks"][0]["status"] = json!("failed"))),
        ("unknown profile", Box::new(|v| v["profile"] = json!("aggressive"))),
        (
            "unknown body encoding",
            Box::new(|v| v["findings"][0]["evidence"][0]["response"]["body"]["encoding"] = json!("hex")),
        ),
        (
            "header as an object",
            Box::new(|v| v["findings"][0]["evidence"][0]["request"]["headers"][0] = json!({"host": "x"})),
        ),
        (
            "header with three items",
            Box::new(|v| v["findings"][0]["evidence"][0]["request"]["headers"][0] = json!(["a", "b", "c"])),
        ),
        ("component null (omitted when none)", Box::new(|v| v["findings"][0]["component"] = Value::Null)),
        ("error null (omitted when none)", Box::new(|v| v["findings"][0]["evidence"][0]["error"] = Value::Null)),
        ("started_at not a string", Box::new(|v| v["started_at"] = json!(1714557600))),
        ("notes not strings", Box::new(|v| v["notes"] = json!([1]))),
    ];
    let good = sample_value();
    validate_report_json(&good).unwrap();
    for (name, break_it) in cases {
        let mut bad = good.clone();
        break_it(&mut bad);
        assert_ne!(bad, good, "{name}: the mutation did nothing");
        assert!(validate_report_json(&bad).is_err(), "{name}: a broken report validated");
    }
}

// ---------------------------------------------------------------- summary

#[test]
fn summary_without_colour_has_everything_and_no_escape() {
    let report = sample_report();
    let text = render_summary(&report, &SummaryOptions { color: false });
    assert!(!text.contains('\x1b'), "{text}");
    assert!(text.ends_with('\n'));
    assert!(text.starts_with("mortar scan of https://127.0.0.1:8443  profile standard  12.3s\n"), "{text}");
    let grade_line = format!("Grade {}  score {}/100", report.grade, report.score);
    assert!(text.contains(&grade_line), "{text}");
    for f in &report.findings {
        assert!(text.contains(&f.title), "{}: {text}", f.title);
        assert!(text.contains(&f.id), "{}: {text}", f.id);
        assert!(text.contains(&f.reproduce), "{text}");
    }
    assert!(text.contains("[CRITICAL]") && text.contains("[MEDIUM]") && text.contains("[LOW]"));
    assert!(text.contains("GET /api/orders/{id} (+1 more)"), "{text}");
    assert!(text.contains("host-wide"), "{text}");
    assert!(text.contains("fix: Fix it at the source.\n"), "{text}");
    assert!(!text.contains("actix-web: do this"), "only the first line of the remediation: {text}");
    assert!(text.contains("checks: 5 ran, 2 skipped, 1 inconclusive"), "{text}");
    assert!(text.contains("inconclusive: rate-limiting.login-burst (deadline reached)"), "{text}");
    assert!(text.contains("bob (rejected: 401 Unauthorized"), "{text}");
    assert!(text.contains("requests: 43 sent"), "{text}");
    assert!(text.contains("1 timeouts") && text.contains("2 rate-limited"), "{text}");
    // Findings come grouped, most severe first.
    let pos = |s: &str| text.find(s).unwrap();
    assert!(pos("[CRITICAL]") < pos("[MEDIUM]") && pos("[MEDIUM]") < pos("[LOW]"));
    // Every note is printed.
    assert!(!report.notes.is_empty());
    for note in &report.notes {
        assert!(text.contains(note.as_str()), "{note}");
    }
}

#[test]
fn summary_lists_untested_categories_and_tables_only_tested_ones() {
    let report = sample_report();
    let text = render_summary(&report, &SummaryOptions { color: false });
    let line = text.lines().find(|l| l.starts_with("Not tested: ")).expect("a Not tested line");
    for c in &report.categories {
        let in_table = text.lines().any(|l| l.starts_with(&format!("  {} ", c.name)));
        if c.score.is_none() {
            assert!(line.contains(c.id.id()), "{} missing from {line}", c.id);
            assert!(!in_table, "{} is untested but in the table", c.id);
        } else {
            assert!(!line.split([' ', ',']).any(|w| w == c.id.id()), "{} is tested: {line}", c.id);
            assert!(in_table, "{} is tested but not in the table:\n{text}", c.id);
        }
    }
    // Tested categories: bola, misconfiguration, encryption, inventory, data-exposure, rate-limiting.
    assert!(line.contains("race-condition") && line.contains("mtls") && line.contains("authentication"));
    // The table is aligned: every row has its score column at the same place.
    let rows: Vec<&str> =
        text.lines().filter(|l| l.starts_with("  ") && l.ends_with(|c: char| c.is_ascii_digit())).collect();
    assert_eq!(rows.len(), 6, "{text}");
    let widths: Vec<usize> = rows.iter().map(|r| r.len()).collect();
    assert!(widths.windows(2).all(|w| w[0] == w[1]), "{rows:#?}");
}

#[test]
fn summary_with_colour_uses_sgr_escapes() {
    let report = sample_report();
    let text = render_summary(&report, &SummaryOptions { color: true });
    assert!(text.contains("\x1b["), "{text}");
    assert!(text.contains("\x1b[1;31m[CRITICAL]"), "{text}");
    assert!(text.contains("\x1b[33m[MEDIUM]"), "{text}");
    assert!(text.contains("\x1b[36m[LOW]"), "{text}");
    assert!(text.contains("\x1b[1;31mGrade F\x1b[0m"), "a critical finding caps at 59, grade F: {text}");
    // Colour aside, the text is the same.
    let plain = render_summary(&report, &SummaryOptions { color: false });
    assert_eq!(strip_sgr(&text), plain);
}

fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn summary_shows_gate_score_only_when_it_differs() {
    let report = sample_report();
    // The low finding is unchanged: the gate score (new findings only) equals the score here
    // only if that finding costs nothing in total after the critical cap.
    let text = render_summary(&report, &SummaryOptions { color: false });
    assert_eq!(text.contains("gate score"), report.gate_score != report.score, "{text}");
    let mut other = report.clone();
    other.gate_score = 95;
    other.score = 84;
    other.grade = mortar_model::Grade::B;
    let text = render_summary(&other, &SummaryOptions { color: false });
    assert!(text.contains("Grade B  score 84/100  gate score 95/100\n"), "{text}");
    other.gate_score = 84;
    let text = render_summary(&other, &SummaryOptions { color: false });
    assert!(text.contains("Grade B  score 84/100\n"), "{text}");
}

#[test]
fn summary_of_an_empty_scan_says_nothing_was_tested() {
    let report = empty_report();
    let text = render_summary(&report, &SummaryOptions { color: false });
    assert!(text.contains("Grade A  score 100/100"), "{text}");
    assert!(text.contains("No category was tested."), "{text}");
    assert!(text.contains("No findings."), "{text}");
    assert!(text.contains("16 of 16 categories were not tested"), "{text}");
    assert!(text.contains("checks: 0 ran, 0 skipped, 0 inconclusive"), "{text}");
}

#[test]
fn summary_escapes_control_characters_from_the_target() {
    let mut report = sample_report();
    report.findings[0].title = "evil \x1b[2J title\rX".into();
    report.findings[0].endpoint.as_mut().unwrap().path = "/a\x1b]0;pwned\x07".into();
    report.notes.push("note with \u{9b}31m C1 escape".into());
    let text = render_summary(&report, &SummaryOptions { color: false });
    assert!(!text.contains('\x1b') && !text.contains('\u{9b}') && !text.contains('\r') && !text.contains('\x07'));
    assert!(text.contains("evil \\x1b[2J title\\x0dX"), "{text}");
    let coloured = render_summary(&report, &SummaryOptions { color: true });
    assert!(!coloured.contains("\x1b[2J") && !coloured.contains('\x07'));
}

#[test]
fn summary_is_deterministic() {
    let a = render_summary(&sample_report(), &SummaryOptions { color: true });
    let b = render_summary(&sample_report(), &SummaryOptions { color: true });
    assert_eq!(a, b);
}

// ---------------------------------------------------------------- checks

const CHECKS: [CheckInfo; 3] = [
    CheckInfo {
        id: "bola.cross-identity-read",
        category: Category::Bola,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Objects of one identity are readable by another",
        description: "Reads each object as a second identity.",
        remediation: Remediation { summary: "Check ownership on every read.", actix_web: "a", axum: "x" },
        references: References { owasp_api: &["API1:2023"], cwe: &["CWE-639"] },
    },
    CheckInfo {
        id: "race-condition.limit-overrun",
        category: Category::RaceCondition,
        severity: Severity::Critical,
        profile: Profile::Active,
        title: "A limit is overrun by a synchronized burst",
        description: "Sends one synchronized burst.",
        remediation: Remediation { summary: "Use an atomic conditional update.", actix_web: "a", axum: "x" },
        references: References { owasp_api: &["API6:2023"], cwe: &["CWE-362", "CWE-367"] },
    },
    CheckInfo {
        id: "misconfiguration.headers",
        category: Category::Misconfiguration,
        severity: Severity::Info,
        profile: Profile::Passive,
        title: "Security headers are missing",
        description: "Looks at response headers.",
        remediation: Remediation { summary: "Set the headers.", actix_web: "a", axum: "x" },
        references: References { owasp_api: &[], cwe: &[] },
    },
];

#[test]
fn checks_text_is_an_aligned_table_of_every_check() {
    let text = render_checks_text(&CHECKS);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("CATEGORY") && lines[0].ends_with("TITLE"));
    for (check, line) in CHECKS.iter().zip(&lines[1..]) {
        assert!(line.starts_with(check.id), "{line}");
        assert!(line.contains(check.category.id()) && line.contains(check.severity.as_str()));
        assert!(line.contains(check.profile.as_str()) && line.ends_with(check.title), "{line}");
    }
    // Titles start at the same column on every line.
    let column = lines[0].find("TITLE").unwrap();
    for (check, line) in CHECKS.iter().zip(&lines[1..]) {
        assert_eq!(line.find(check.title), Some(column), "{text}");
    }
    assert!(!text.contains(" \n"), "no trailing spaces");
    assert_eq!(render_checks_text(&[]), "ID  CATEGORY  SEVERITY  PROFILE  TITLE\n");
}

#[test]
fn checks_json_lists_every_check_with_its_metadata() {
    let text = render_checks_json(&CHECKS);
    assert!(text.ends_with("]\n"));
    let value: Value = serde_json::from_str(&text).unwrap();
    let items = value.as_array().unwrap();
    assert_eq!(items.len(), CHECKS.len());
    for (check, item) in CHECKS.iter().zip(items) {
        assert_eq!(
            item,
            &json!({
                "id": check.id,
                "category": check.category.id(),
                "severity": check.severity.as_str(),
                "profile": check.profile.as_str(),
                "title": check.title,
                "description": check.description,
                "remediation": check.remediation.summary,
                "references": {"owasp_api": check.references.owasp_api, "cwe": check.references.cwe},
            })
        );
    }
    assert_eq!(render_checks_json(&[]), "[]\n");
}

#[test]
fn sarif_has_a_rule_per_check_and_a_located_fingerprinted_result_per_finding() {
    let report = sample_report();
    let catalogue = sample_catalogue();
    let sarif: Value = serde_json::from_str(&crate::render_sarif(&report, &catalogue, &[])).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(rule_ids[0], "bola.cross-identity-read");
    let tags = rules[0]["properties"]["tags"].as_array().unwrap();
    assert!(tags.contains(&json!("OWASP-API1:2023")) && tags.contains(&json!("external/cwe/cwe-639")), "{tags:?}");
    assert_eq!(rules[0]["properties"]["security-severity"], "8.0");
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), report.findings.len());
    for (result, finding) in results.iter().zip(&report.findings) {
        assert_eq!(result["partialFingerprints"]["mortarFindingId/v1"], finding.id.as_str());
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri.starts_with("api/") && !uri.contains('{') && !uri.contains(' '), "{uri}");
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rule_ids[index], finding.check, "ruleIndex points at the finding's rule");
    }
}

#[test]
fn markdown_escapes_target_text_and_lists_every_finding() {
    let mut report = sample_report();
    report.findings[0].title = "<img src=x onerror=alert(1)> | `code`".into();
    let md = crate::render_markdown(&report);
    assert!(md.contains(&format!("grade {}", report.grade)), "{md}");
    assert!(!md.contains("<img") && md.contains("&lt;img"), "{md}");
    assert!(md.contains("<details>") && md.contains(&format!("All {} findings", report.findings.len())));
}

#[test]
fn junit_fails_a_check_only_for_findings_at_or_above_the_severity() {
    let report = sample_report();
    let at = |severity: Severity| {
        let xml = crate::render_junit(&report, severity);
        let failures = xml.matches("<failure ").count();
        assert!(xml.starts_with("<?xml") && xml.contains("<testsuites"), "{xml}");
        failures
    };
    let checks_with = |min: Severity| {
        let mut c: Vec<&str> = report.findings.iter().filter(|f| f.severity >= min).map(|f| f.check.as_str()).collect();
        c.sort();
        c.dedup();
        c.into_iter().filter(|c| report.coverage.checks.iter().any(|k| k.check == *c)).count()
    };
    assert_eq!(at(Severity::Critical), checks_with(Severity::Critical));
    assert_eq!(at(Severity::Info), checks_with(Severity::Info));
    assert!(at(Severity::Info) > at(Severity::Critical));
}

#[test]
fn html_loads_nothing_and_escapes_target_text() {
    let mut report = sample_report();
    report.findings[0].title = "<script>alert(1)</script>".into();
    report.findings[0].description = "\"><img src=https://evil.example/x.png>".into();
    let html = crate::render_html(&report);
    assert!(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    assert!(!html.contains("<script") && !html.contains("<img"), "target text must be escaped");
    // Nothing is fetched: no tag has a src/action attribute, an href only
    // points within the page (`#f-<id>`), and the stylesheet has no url() or
    // @import (target text only appears escaped).
    for tag in html.split('<').skip(1).map(|t| t.split('>').next().unwrap_or("")) {
        for attribute in ["src=", "action=", "srcset="] {
            assert!(!tag.contains(attribute), "tag <{tag}> has {attribute}");
        }
        let hrefs = tag.matches("href=").count();
        assert_eq!(hrefs, tag.matches("href=\"#").count(), "tag <{tag}> links outside the page");
    }
    let style = html.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).unwrap();
    assert!(!style.contains("url(") && !style.contains("@import"));
    assert!(html.contains(&format!("<span class=\"grade\">{}</span>", report.grade)));
    for f in &report.findings {
        assert!(html.contains(&crate::html_escape_for_tests(&f.title)), "missing {}", f.title);
    }
    assert!(html.contains("@media print"));
}

#[test]
fn sarif_places_described_operations_at_their_line_and_the_rest_at_a_pseudo_path() {
    let report = sample_report();
    let described = report.findings.iter().find_map(|f| f.endpoint.clone()).expect("a finding with an endpoint");
    let spec = [
        crate::SpecLocation {
            method: described.method.clone(),
            path: described.path.clone(),
            uri: "api/openapi.yaml".into(),
            relative: true,
            line: 42,
        },
        crate::SpecLocation {
            method: "GET".into(),
            path: "/elsewhere".into(),
            uri: "file:///srv/spec.json".into(),
            relative: false,
            line: 7,
        },
    ];
    let sarif: Value = serde_json::from_str(&crate::render_sarif(&report, &[], &spec)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    for (result, finding) in results.iter().zip(&report.findings) {
        let physical = &result["locations"][0]["physicalLocation"];
        if finding.endpoint.as_ref() == Some(&described) {
            assert_eq!(physical["artifactLocation"]["uri"], "api/openapi.yaml");
            assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
            assert_eq!(physical["region"]["startLine"], 42);
        } else {
            assert!(physical["artifactLocation"]["uri"].as_str().unwrap().starts_with("api/"), "{physical}");
            assert_eq!(physical["region"]["startLine"], 1);
        }
    }
}

#[test]
fn compliance_groups_every_finding_under_its_owasp_risks_and_cwes() {
    let report = sample_report();
    let compliance = &report.compliance;
    assert_eq!(compliance.owasp_api.len(), 10);
    assert_eq!(compliance.owasp_api[0].id, "API1:2023");
    let mut mapped = 0;
    for f in &report.findings {
        for o in &f.references.owasp_api {
            let group = compliance.owasp_api.iter().find(|g| &g.id == o).expect("a 2023 id");
            assert!(group.findings.contains(&f.id), "{} not under {o}", f.id);
            mapped += 1;
        }
        for c in &f.references.cwe {
            assert!(compliance.cwe.iter().any(|g| &g.id == c && g.findings.contains(&f.id)), "{c}");
        }
    }
    assert!(mapped > 0, "the sample maps findings to OWASP ids");
    // No group lists a finding that does not name it.
    for g in compliance.owasp_api.iter().chain(&compliance.cwe) {
        for id in &g.findings {
            let f = report.findings.iter().find(|f| &f.id == id).unwrap();
            assert!(f.references.owasp_api.contains(&g.id) || f.references.cwe.contains(&g.id));
        }
    }
    let numbers: Vec<u32> = compliance.cwe.iter().map(|g| g.id.trim_start_matches("CWE-").parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    let html = crate::render_html(&report);
    assert!(html.contains("OWASP API Security Top 10 (2023)"));
    let first = &report.findings[0].id;
    assert!(html.contains(&format!("id=\"f-{first}\"")) && html.contains(&format!("href=\"#f-{first}\"")));
}

// ---------------------------------------------------------------- snapshots

/// Replaces what changes between runs (RFC 3339 timestamps, loopback ports)
/// so a snapshot compares only what a format decides.
fn redact_volatile(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        // 2024-05-01T10:00:00Z, 2024-05-01T10:00:00.5+02:00
        let is_timestamp = rest.len() >= 19
            && rest.as_bytes()[..19].iter().enumerate().all(|(k, b)| match k {
                4 | 7 => *b == b'-',
                10 => *b == b'T',
                13 | 16 => *b == b':',
                _ => b.is_ascii_digit(),
            });
        if is_timestamp {
            let end =
                rest[19..].find(|c: char| !(c.is_ascii_digit() || ".:+-Z".contains(c))).map_or(rest.len(), |e| e + 19);
            out.push_str("<TIMESTAMP>");
            i += end;
            continue;
        }
        if let Some(after) = rest.strip_prefix("127.0.0.1:") {
            let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
            if digits > 0 {
                out.push_str("127.0.0.1:<PORT>");
                i += "127.0.0.1:".len() + digits;
                continue;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[test]
fn redaction_hides_only_timestamps_and_ports() {
    let text = "at 2024-05-01T10:00:00.5+02:00 on https://127.0.0.1:8443/x, version 1.2.3, 127.0.0.1 alone";
    assert_eq!(redact_volatile(text), "at <TIMESTAMP> on https://127.0.0.1:<PORT>/x, version 1.2.3, 127.0.0.1 alone");
}

/// Every format of the sample report, compared with the committed
/// `snapshots/sample.*` files (timestamps and ports redacted). After an
/// intended change: `MORTAR_UPDATE_SNAPSHOTS=1 cargo test -p mortar-report`,
/// then review the diff.
#[test]
fn every_format_matches_its_snapshot() {
    let report = sample_report();
    let catalogue = sample_catalogue();
    let outputs = [
        ("sample.json", render_json(&report)),
        ("sample.summary.txt", render_summary(&report, &SummaryOptions { color: false })),
        ("sample.sarif", crate::render_sarif(&report, &catalogue, &[])),
        ("sample.junit.xml", crate::render_junit(&report, Severity::High)),
        ("sample.md", crate::render_markdown(&report)),
        ("sample.html", crate::render_html(&report)),
    ];
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
    let update = std::env::var("MORTAR_UPDATE_SNAPSHOTS").as_deref() == Ok("1");
    let mut changed = Vec::new();
    for (name, output) in outputs {
        let output = redact_volatile(&output);
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &output).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (MORTAR_UPDATE_SNAPSHOTS=1 writes it)", path.display()));
        if expected != output {
            let line = expected.lines().zip(output.lines()).position(|(a, b)| a != b).map_or(0, |l| l + 1);
            changed.push(format!("{name} (first difference at line {line})"));
        }
    }
    assert!(changed.is_empty(), "formats changed: {} (MORTAR_UPDATE_SNAPSHOTS=1 to accept)", changed.join(", "));
}

//! Report formats on real scans: the SARIF checks (a located, fingerprinted
//! result per finding; every lab target's SARIF is checked by the lab-wide
//! test in lab_scans.rs), JUnit and Markdown written beside the main output
//! with `--report FORMAT=FILE`.

use crate::support::{mortar, scan_args};
use mortar_lab::Lab;
use serde_json::Value;

/// The official SARIF 2.1.0 schema (as shipped in Microsoft's SARIF
/// multitool, fetched by `.ci/run`) from MORTAR_SARIF_SCHEMA. Without it the
/// schema part is skipped, saying so, unless MORTAR_REQUIRE_SARIF_SCHEMA=1.
fn sarif_schema() -> Option<&'static jsonschema::Validator> {
    static SCHEMA: std::sync::OnceLock<Option<jsonschema::Validator>> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let required = std::env::var("MORTAR_REQUIRE_SARIF_SCHEMA").as_deref() == Ok("1");
            let Ok(path) = std::env::var("MORTAR_SARIF_SCHEMA") else {
                assert!(!required, "MORTAR_REQUIRE_SARIF_SCHEMA=1 but MORTAR_SARIF_SCHEMA is not set");
                eprintln!("SKIP: SARIF schema validation (set MORTAR_SARIF_SCHEMA to sarif-2.1.0.json)");
                return None;
            };
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
            Some(jsonschema::validator_for(&schema).expect("the SARIF schema compiles"))
        })
        .as_ref()
}

/// Checks the SARIF against the official schema and the structure GitHub
/// code scanning needs; returns the fingerprints by target.
pub(crate) fn check_sarif(text: &str, what: &str) -> Vec<String> {
    let sarif: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: SARIF is not JSON: {e}"));
    if let Some(schema) = sarif_schema() {
        let errors: Vec<String> =
            schema.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path())).take(20).collect();
        assert!(errors.is_empty(), "{what}: not valid SARIF 2.1.0:\n{}", errors.join("\n"));
    }
    assert_eq!(sarif["version"], "2.1.0", "{what}");
    let run = &sarif["runs"][0];
    let rules: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(!rules.is_empty(), "{what}: no rules");
    let mut fingerprints = Vec::new();
    for result in run["results"].as_array().unwrap() {
        let rule = result["ruleId"].as_str().unwrap();
        assert_eq!(rules[result["ruleIndex"].as_u64().unwrap() as usize], rule, "{what}");
        let location = &result["locations"][0]["physicalLocation"];
        assert!(location["artifactLocation"]["uri"].as_str().is_some_and(|u| !u.is_empty()), "{what}: {result}");
        assert!(location["region"]["startLine"].as_u64().is_some(), "{what}: {result}");
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()), "{what}");
        assert!(!result["message"]["text"].as_str().unwrap().is_empty(), "{what}");
        fingerprints.push(result["partialFingerprints"]["mortarFindingId/v1"].as_str().unwrap().to_string());
    }
    fingerprints
}

#[tokio::test(flavor = "multi_thread")]
async fn several_formats_at_once() {
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = crate::support::target(&lab, "cors-reflection", "vulnerable");
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (junit, md, sarif, html) = (path("r.xml"), path("r.md"), path("r.sarif"), path("r.html"));
    let reports =
        [format!("junit={junit}"), format!("markdown={md}"), format!("sarif={sarif}"), format!("html={html}")];
    let mut args = scan_args(t, &["--format", "json", "--fail-on", "medium"]);
    for r in &reports {
        args.extend(["--report", r.as_str()]);
    }
    let out = mortar(&args, &[]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(junit.contains("<failure ") && junit.contains("misconfiguration.cors-reflected-origin"), "{junit}");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains(&format!("grade {}", report["grade"].as_str().unwrap())), "{md}");
    assert_eq!(check_sarif(&std::fs::read_to_string(&sarif).unwrap(), "sarif file").len(), 1);
    let html = std::fs::read_to_string(&html).unwrap();
    let title = report["findings"][0]["title"].as_str().unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains(&title.replace('\'', "&#39;")), "{html}");
    lab.shutdown();
}

/// A suppression keeps the finding in the report, marked, out of the score and
/// the gates; an expired one stops suppressing and says so.
#[tokio::test(flavor = "multi_thread")]
async fn suppressions_accept_findings_until_they_expire() {
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = crate::support::target(&lab, "cors-reflection", "vulnerable");
    let dir = tempfile::tempdir().unwrap();
    let config = |expires: &str| {
        let path = dir.path().join(format!("mortar-{expires}.toml"));
        std::fs::write(
            &path,
            format!(
                "[[suppressions]]\ncheck = \"misconfiguration.cors-reflected-origin\"\npath = \"/api/*\"\nreason = \"public data, reviewed\"\nexpires = \"{expires}\"\n"
            ),
        )
        .unwrap();
        path.display().to_string()
    };
    let plain = mortar(&scan_args(t, &["--format", "json", "--threshold", "100"]), &[]).await;
    assert_eq!(plain.code, 1, "{}", plain.stderr);

    let active = config("2999-12-31");
    let out = mortar(&scan_args(t, &["--format", "json", "--threshold", "100", "--config", &active]), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = crate::support::assert_valid_report(&out.stdout);
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty() && findings.iter().all(|f| f["status"] == "suppressed"), "{findings:?}");
    assert_eq!(report["score"], 100);

    let expired = config("2020-01-01");
    let out = mortar(&scan_args(t, &["--format", "json", "--threshold", "100", "--config", &expired]), &[]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = crate::support::assert_valid_report(&out.stdout);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["status"] == "new"));
    assert!(report["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("expired")));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[suppressions]]\ncheck = \"x\"\nreason = \"r\"\nuntil = \"2027-01-01\"\n").unwrap();
    let out = mortar(&scan_args(t, &["--config", &bad.display().to_string()]), &[]).await;
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("until"), "{}", out.stderr);
    lab.shutdown();
}

/// The HTML report as a browser sees it: Debian's chromium, headless, prints
/// the DOM; the grade and every finding's title are in it. Skips (saying so)
/// without chromium, unless MORTAR_REQUIRE_CHROMIUM=1 (CI sets it when it
/// could install chromium).
#[tokio::test(flavor = "multi_thread")]
async fn html_report_renders_in_headless_chromium() {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    let Some(chromium) = chromium else {
        assert_ne!(std::env::var("MORTAR_REQUIRE_CHROMIUM").as_deref(), Ok("1"), "chromium is required but missing");
        eprintln!("SKIP: chromium is not installed (apt-get install chromium)");
        return;
    };
    let lab = Lab::start_only(&["cors-origin-bypass"]).await.unwrap();
    let t = crate::support::target(&lab, "cors-origin-bypass", "vulnerable");
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let html_path = html.display().to_string();
    let out = mortar(&scan_args(t, &["--format", "json", "--report", &format!("html={html_path}")]), &[]).await;
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    lab.shutdown();
    // Everything that could reach beyond this machine is turned off; the
    // page's CSP forbids loading anything anyway.
    let dom = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-domain-reliability",
            "--disable-client-side-phishing-detection",
            "--no-first-run",
            "--no-default-browser-check",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg(format!("file://{html_path}"))
        .output();
    let dom = tokio::time::timeout(std::time::Duration::from_secs(60), dom).await.expect("chromium ended").unwrap();
    let text = String::from_utf8_lossy(&dom.stdout);
    assert!(text.contains(&format!("<span class=\"grade\">{}</span>", report["grade"].as_str().unwrap())), "{text}");
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        let title = f["title"].as_str().unwrap().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        assert!(text.contains(&title), "title {title} not in the DOM");
    }
}

/// The fixed variant's report as the baseline of the vulnerable variant's scan:
/// exit 1, and exactly the vulnerable variant's expected checks are new.
#[tokio::test(flavor = "multi_thread")]
async fn a_fixed_baseline_makes_only_the_flaw_new() {
    let lab = Lab::start_only(&["cookie-flags"]).await.unwrap();
    let fixed = crate::support::target(&lab, "cookie-flags", "fixed");
    let vulnerable = crate::support::target(&lab, "cookie-flags", "vulnerable");
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("fixed.json");
    let first = mortar(&scan_args(fixed, &["--format", "json"]), &[]).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    std::fs::write(&baseline, &first.stdout).unwrap();
    let baseline = baseline.display().to_string();
    let out =
        mortar(&scan_args(vulnerable, &["--format", "json", "--fail-on", "low", "--baseline", &baseline]), &[]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = crate::support::assert_valid_report(&out.stdout);
    let mut new: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "new")
        .map(|f| f["check"].as_str().unwrap().to_string())
        .collect();
    new.sort();
    new.dedup();
    let expected: Vec<String> = vulnerable
        .expected
        .iter()
        .map(|e| match e {
            mortar_lab::Expected::Check(c) | mortar_lab::Expected::At { check: c, .. } => c.clone(),
        })
        .collect();
    assert_eq!(new, expected);
    lab.shutdown();
}

/// The schema check itself: a minimal log passes, one without its tool fails.
#[test]
fn the_sarif_schema_check_rejects_a_broken_log() {
    let Some(schema) = sarif_schema() else { return };
    let valid =
        serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "mortar"}}, "results": []}]});
    assert!(schema.is_valid(&valid));
    let broken = serde_json::json!({"version": "2.1.0", "runs": [{"results": [{"level": "loud"}]}]});
    assert!(!schema.is_valid(&broken));
}

/// With an API description, a finding on a described operation points at
/// the operation's line in that file (an absolute `file://` URI here: the
/// lab writes its descriptions outside the working directory).
#[tokio::test(flavor = "multi_thread")]
async fn sarif_locates_described_operations_in_the_description() {
    let lab = Lab::start_only(&["spec-inventory"]).await.unwrap();
    let t = crate::support::target(&lab, "spec-inventory", "vulnerable");
    let spec = t.spec.clone().expect("spec-inventory has a description");
    let out = mortar(&scan_args(t, &["--format", "sarif"]), &[]).await;
    let text = std::fs::read_to_string(&spec).unwrap();
    lab.shutdown();
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let sarif: Value = serde_json::from_str(&out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let deprecated = results
        .iter()
        .find(|r| r["ruleId"] == "inventory.deprecated-operation-live")
        .expect("the deprecated operation is reported");
    let physical = &deprecated["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"].as_str().unwrap(), format!("file://{spec}"));
    let line = physical["region"]["startLine"].as_u64().unwrap() as usize;
    assert!(line > 1 && line <= lines.len(), "{physical}");
    // The line holds the operation (its method key) under the deprecated path.
    assert!(lines[line - 1].contains("\"get\""), "line {line}: {}", lines[line - 1]);
    let before = lines[..line].iter().rev().find(|l| l.contains("\"/")).unwrap();
    assert!(before.contains("legacy"), "{before}");
    // An undocumented endpoint has no line in the description: a pseudo-path.
    let undocumented = results.iter().find(|r| r["ruleId"] == "inventory.undocumented-endpoints").unwrap();
    let uri = undocumented["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
    assert!(uri.starts_with("api/"), "{uri}");
}

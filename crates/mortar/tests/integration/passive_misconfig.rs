//! Misconfiguration and encryption checks against the lab, for what the
//! lab-wide test does not see: where findings land and with which component,
//! the active-profile TRACE probe, and that a bad certificate is a finding
//! while the scan goes on.

use crate::support::{assert_valid_report, mortar, scan_args, target};
use mortar_lab::Lab;
use serde_json::Value;

/// The findings of one check in a JSON report.
fn findings_of<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check).collect()
}

fn components(findings: &[&Value]) -> Vec<String> {
    let mut out: Vec<String> = findings.iter().map(|f| f["component"].as_str().unwrap_or("").to_string()).collect();
    out.sort();
    out
}

async fn scan(t: &mortar_lab::LabTarget, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let out = mortar(&scan_args(t, &args), &[]).await;
    assert_eq!(out.code, 0, "{} {}: {}", t.scenario, t.variant.as_str(), out.stderr);
    assert_valid_report(&out.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_is_sent_and_confirmed_only_in_the_active_profile() {
    let lab = Lab::start_only(&["dangerous-methods"]).await.unwrap();
    let check = "misconfiguration.dangerous-methods";
    let vulnerable = target(&lab, "dangerous-methods", "vulnerable");

    lab.reset_methods();
    let report = scan(vulnerable, &["--profile", "passive", "--checks", check]).await;
    let found = findings_of(&report, check);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["confidence"], "firm");
    assert!(found[0]["description"].as_str().unwrap().contains("TRACE"));
    assert!(!lab.methods_seen().contains_key("TRACE"), "passive sent TRACE: {:?}", lab.methods_seen());

    let report = scan(vulnerable, &["--profile", "active", "--checks", check]).await;
    let found = findings_of(&report, check);
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["confidence"], "confirmed");
    assert_eq!(found[0]["severity"], "medium");
    let evidence = &found[0]["evidence"][0];
    assert_eq!(evidence["request"]["method"], "TRACE");
    assert!(evidence["response"]["body"]["content"].as_str().unwrap().contains("mortar-trace-echo"));
    assert!(found[0]["reproduce"].as_str().unwrap().contains("-X TRACE"));
    assert!(lab.methods_seen().contains_key("TRACE"));

    let fixed = target(&lab, "dangerous-methods", "fixed");
    let report = scan(fixed, &["--profile", "active", "--checks", check]).await;
    assert!(findings_of(&report, check).is_empty(), "{report:#}");
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_certificate_is_a_finding_and_the_scan_goes_on() {
    let lab = Lab::start_only(&["certificate-expired", "certificate-name-mismatch", "certificate-self-signed"])
        .await
        .unwrap();
    for (scenario, component, says) in [
        ("certificate-self-signed", "self-signed", "UnknownIssuer"),
        ("certificate-expired", "expired", "expired"),
        ("certificate-name-mismatch", "name-mismatch", "not valid for name"),
    ] {
        let report = scan(target(&lab, scenario, "vulnerable"), &[]).await;
        let found = findings_of(&report, "encryption.certificate");
        assert_eq!(components(&found), vec![component.to_string()], "{scenario}: {report:#}");
        let finding = found[0];
        assert_eq!(finding["severity"], "high");
        assert!(finding["endpoint"].is_null(), "a certificate is host-wide");
        let note = finding["evidence"][0]["note"].as_str().unwrap();
        assert!(note.contains("rejected") && note.contains(says), "{scenario}: {note}");
        assert_eq!(finding["evidence"][0]["response"]["status"], 200);
        // Every other check still ran against the target.
        let coverage = report["coverage"]["checks"].as_array().unwrap();
        let headers = coverage.iter().find(|c| c["check"] == "misconfiguration.security-headers").unwrap();
        assert_eq!(headers["status"], "ran", "{scenario}: {headers}");
        assert!(report["stats"]["requests"].as_u64().unwrap() > 5);

        // --strict-tls turns the same certificate into an error instead.
        let t = target(&lab, scenario, "vulnerable");
        let strict = mortar(&scan_args(t, &["--strict-tls"]), &[]).await;
        assert_eq!(strict.code, 2, "{scenario}: {}", strict.stderr);

        let fixed = scan(target(&lab, scenario, "fixed"), &[]).await;
        assert!(findings_of(&fixed, "encryption.certificate").is_empty(), "{scenario}: {fixed:#}");
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn findings_land_where_the_flaws_are() {
    let lab = Lab::start_only(&[
        "cookie-flags",
        "cors-origin-bypass",
        "debug-endpoints",
        "plaintext-http",
        "security-headers",
    ])
    .await
    .unwrap();

    // Debug endpoints: at the server root and under the base path, one finding each.
    let report = scan(target(&lab, "debug-endpoints", "vulnerable"), &[]).await;
    let found = findings_of(&report, "misconfiguration.debug-endpoints");
    assert_eq!(components(&found), vec!["actuator-env", "environment", "prometheus-metrics"], "{report:#}");
    for f in &found {
        let path = f["endpoint"]["path"].as_str().unwrap();
        assert!(["/metrics", "/api/actuator/env", "/api/_debug"].contains(&path), "{path}");
        assert_eq!(f["confidence"], "confirmed");
    }

    // CORS: each bypass is its own issue, high because credentials are allowed.
    let report = scan(target(&lab, "cors-origin-bypass", "vulnerable"), &[]).await;
    let found = findings_of(&report, "misconfiguration.cors-origin-bypass");
    assert_eq!(components(&found), vec!["null-origin", "prefix-match", "suffix-match"], "{report:#}");
    assert!(found.iter().all(|f| f["severity"] == "high"));
    assert!(found.iter().all(|f| f["reproduce"].as_str().unwrap().contains("Origin: ")));

    // Cookies: one finding per missing attribute; the value never shows.
    let report = scan(target(&lab, "cookie-flags", "vulnerable"), &[]).await;
    let found = findings_of(&report, "encryption.cookie-flags");
    assert_eq!(components(&found), vec!["HttpOnly", "SameSite", "Secure"], "{report:#}");

    // Security headers: nosniff on the JSON, framing on the HTML error page.
    let report = scan(target(&lab, "security-headers", "vulnerable"), &[]).await;
    let found = findings_of(&report, "misconfiguration.security-headers");
    assert_eq!(components(&found), vec!["x-content-type-options", "x-frame-options"], "{report:#}");
    // The passive profile reads only the known endpoints: no error-page probe.
    let report = scan(target(&lab, "security-headers", "vulnerable"), &["--profile", "passive"]).await;
    let found = findings_of(&report, "misconfiguration.security-headers");
    assert_eq!(components(&found), vec!["x-content-type-options"], "{report:#}");

    // Plaintext: the evidence is an http:// exchange; the fixed twin redirects to https://.
    let report = scan(target(&lab, "plaintext-http", "vulnerable"), &[]).await;
    let found = findings_of(&report, "encryption.plaintext-http");
    assert_eq!(found.len(), 1, "{report:#}");
    assert!(found[0]["evidence"][0]["request"]["url"].as_str().unwrap().starts_with("http://"));
    let fixed = target(&lab, "plaintext-http", "fixed");
    let report = scan(fixed, &[]).await;
    assert!(findings_of(&report, "encryption.plaintext-http").is_empty());
    assert!(
        report["coverage"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "encryption.hsts" && c["status"] == "skipped"),
        "HSTS is skipped on a plain-HTTP target"
    );
    lab.shutdown();
}

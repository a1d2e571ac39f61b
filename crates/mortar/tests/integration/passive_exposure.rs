//! The passive data-exposure, inventory and JWT checks against the lab: what
//! the lab-wide test does not cover (leaked values never reach any report
//! format, the framework fingerprint, the description lists spec URLs).

use crate::support::{assert_valid_report, mortar, scan_args, target};
use mortar_engine::{Engine, EngineConfig, Origin, Request};
use mortar_lab::{Lab, LabTarget};
use mortar_model::Target;

/// Fetches a lab page directly (not through a scan) to learn what it leaks.
async fn fetch(lab: &Lab, t: &LabTarget, path: &str) -> String {
    let mut config = EngineConfig::default();
    config.tls.ca_pem = vec![std::fs::read(lab.ca_cert_path()).unwrap()];
    let target = Target::parse(&t.url).unwrap();
    config.scope_hosts = vec![target.host.clone()];
    let engine = Engine::new(config, &[]).unwrap();
    let origin = Origin::of(&target);
    engine.send(Request::get(&origin, path)).await.unwrap().response.text()
}

/// String values of a JSON document under the given keys, anywhere.
fn values_under(json: &str, keys: &[&str]) -> Vec<String> {
    fn walk(v: &serde_json::Value, keys: &[&str], out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match v {
                        serde_json::Value::String(s) if keys.contains(&k.as_str()) => out.push(s.clone()),
                        _ => walk(v, keys, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, keys, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&serde_json::from_str(json).unwrap(), keys, &mut out);
    out
}

/// Scans a target in json and summary formats; returns (json report, every output joined).
async fn scan_all_formats(t: &LabTarget) -> (serde_json::Value, String) {
    let json = mortar(&scan_args(t, &["--format", "json"]), &[]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let summary = mortar(&scan_args(t, &["--format", "summary"]), &[]).await;
    let report = assert_valid_report(&json.stdout);
    (report, format!("{}\n{}\n{}\n{}", json.stdout, json.stderr, summary.stdout, summary.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn leaked_secrets_pii_and_tokens_never_reach_the_report() {
    let lab = Lab::start_only(&["jwt-weak", "pii-exposure", "secrets-exposure"]).await.unwrap();

    let t = target(&lab, "secrets-exposure", "vulnerable");
    let secrets = values_under(&fetch(&lab, t, "/api/config").await, &["access_key_id", "secret_key"]);
    assert_eq!(secrets.len(), 2, "{secrets:?}");
    let (report, all) = scan_all_formats(t).await;
    let finding =
        report["findings"].as_array().unwrap().iter().find(|f| f["check"] == "data-exposure.secrets-in-response");
    let finding = finding.expect("secrets finding");
    let description = finding["description"].as_str().unwrap();
    assert!(description.contains("AWS access key id") && description.contains("Stripe live key"), "{description}");
    assert!(description.contains("AKIA****") && description.contains("sk_l****"), "{description}");
    assert_eq!(finding["endpoint"]["path"], "/api/config");
    // The response was captured (masked), not left out.
    let body = finding["evidence"][0]["response"]["body"]["content"].as_str().unwrap();
    assert!(body.contains("\"access_key_id\":\"AKIA*"), "{body}");
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "a scan output contains the leaked secret");
        assert!(!all.contains(&s[4..]), "a scan output contains the leaked secret's tail");
    }

    let t = target(&lab, "pii-exposure", "vulnerable");
    let pii = values_under(&fetch(&lab, t, "/api/customers").await, &["email", "phone", "card_number", "ssn"]);
    assert_eq!(pii.len(), 8, "{pii:?}");
    let (report, all) = scan_all_formats(t).await;
    let finding = report["findings"].as_array().unwrap().iter().find(|f| f["check"] == "data-exposure.pii").unwrap();
    assert_eq!(finding["severity"], "medium");
    let description = finding["description"].as_str().unwrap();
    for kind in ["2 x card number", "2 x social security number", "2 x e-mail address", "2 x phone number"] {
        assert!(description.contains(kind), "{description}");
    }
    for v in &pii {
        assert!(!all.contains(v.as_str()), "a scan output contains the personal value {v}");
    }

    let t = target(&lab, "jwt-weak", "vulnerable");
    let (report, all) = scan_all_formats(t).await;
    let components: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "authentication.jwt-weaknesses")
        .map(|f| f["component"].as_str().unwrap())
        .collect();
    assert_eq!(components.len(), 2, "{components:?}");
    assert!(components.contains(&"weak-hmac-secret") && components.contains(&"no-expiry"), "{components:?}");
    // Tokens are minted per request, so look for any JWT at all in the outputs.
    assert!(!all.contains("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."), "a scan output contains the JWT");
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn framework_is_detected_from_behaviour() {
    let lab = Lab::start_only(&[
        "cors-reflection",
        "jwt-weak",
        "pii-exposure",
        "spec-exposure",
        "stack-trace",
        "version-disclosure",
    ])
    .await
    .unwrap();
    for (scenario, framework) in [
        ("cors-reflection", "axum"),
        ("spec-exposure", "axum"),
        ("jwt-weak", "axum"),
        ("version-disclosure", "actix-web"),
        ("stack-trace", "actix-web"),
        ("pii-exposure", "actix-web"),
    ] {
        for variant in ["vulnerable", "fixed"] {
            let t = target(&lab, scenario, variant);
            let out = mortar(&scan_args(t, &["--format", "json", "--profile", "passive"]), &[]).await;
            let report = assert_valid_report(&out.stdout);
            let note = report["coverage"]["checks"]
                .as_array()
                .or_else(|| report["coverage"].as_array())
                .and_then(|checks| checks.iter().find(|c| c["check"] == "inventory.framework-fingerprint"))
                .and_then(|c| c["reason"].as_str())
                .unwrap_or_default()
                .to_string();
            assert!(note.starts_with(&format!("detected framework: {framework} (")), "{scenario} {variant}: {note}");
            // Remediation is written for the detected framework only.
            for f in report["findings"].as_array().unwrap() {
                let remediation = f["remediation"].as_str().unwrap();
                let other = if framework == "axum" { "actix-web:" } else { "axum:" };
                assert!(remediation.contains(&format!("{framework}:")), "{remediation}");
                assert!(!remediation.contains(other), "{remediation}");
            }
        }
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn spec_exposure_lists_every_url_found() {
    let lab = Lab::start_only(&["spec-exposure"]).await.unwrap();
    let t = target(&lab, "spec-exposure", "vulnerable");
    let out = mortar(&scan_args(t, &["--format", "json"]), &[]).await;
    let report = assert_valid_report(&out.stdout);
    let findings: Vec<&serde_json::Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "inventory.spec-exposed").collect();
    let description = |component: &str| {
        findings.iter().find(|f| f["component"] == component).map(|f| f["description"].as_str().unwrap().to_string())
    };
    let doc = description("api-description").expect("api-description finding");
    assert!(doc.contains(&format!("OpenAPI document at {}openapi.json", t.url)), "{doc}");
    let console = description("console").expect("console finding");
    assert!(console.contains(&format!("Swagger UI at {}docs", t.url)), "{console}");
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwt_key_made_of_the_apis_own_name_is_found_and_a_random_one_is_searched_in_full() {
    let lab = Lab::start_only(&["jwt-guessable-key"]).await.unwrap();
    let verdict = |report: &serde_json::Value| {
        report["coverage"]["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|c| c["check"] == "authentication.jwt-weaknesses"))
            .map(|c| c["reason"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let t = target(&lab, "jwt-guessable-key", "vulnerable");
    let out = mortar(&scan_args(t, &["--format", "json", "--profile", "passive"]), &[]).await;
    let report = assert_valid_report(&out.stdout);
    let weak: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "authentication.jwt-weaknesses")
        .collect();
    assert_eq!(weak.len(), 1, "{weak:?}");
    assert_eq!(weak[0]["component"], "weak-hmac-secret");
    let description = weak[0]["description"].as_str().unwrap();
    assert!(description.contains("HS384") && description.contains("`Fleet2024`"), "{description}");

    let t = target(&lab, "jwt-guessable-key", "fixed");
    let out = mortar(&scan_args(t, &["--format", "json", "--profile", "passive"]), &[]).await;
    let report = assert_valid_report(&out.stdout);
    let findings = report["findings"].as_array().unwrap();
    assert!(!findings.iter().any(|f| f["check"] == "authentication.jwt-weaknesses"), "{findings:?}");
    let reason = verdict(&report);
    assert!(reason.contains("1 HMAC key search(es)") && !reason.contains("time budget"), "{reason}");

    // With the key, a token with the admin scope is minted and served where the real one was refused.
    let forged_privilege = |report: &serde_json::Value| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["check"] == "authentication.forged-token-accepted" && f["component"] == "jwt-forged-privilege"
            })
            .map(|f| f["endpoint"]["path"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    for (variant, expected) in [("vulnerable", vec!["/fleet/v3/drivers".to_string()]), ("fixed", vec![])] {
        let t = target(&lab, "jwt-guessable-key", variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--profile", "standard"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(forged_privilege(&report), expected, "{variant}: {}", out.stderr);
    }
    lab.shutdown();
}

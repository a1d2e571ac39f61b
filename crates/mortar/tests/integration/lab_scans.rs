//! Scans of the lab: detections against flawed and fixed targets, the report
//! contract, stable ids, gates and redaction.

use crate::support::{assert_valid_report, finding_checks, mortar, scan_args, target};
use mortar_lab::{Lab, LabOptions};
use std::collections::BTreeMap;

/// Every lab target, twice on new ports: exactly its expected findings, a
/// valid report, and a valid, located SARIF log (written beside the JSON by
/// the same scan) whose fingerprints are the same in both runs. One test, so
/// the whole lab is scanned in the active profile twice, not three times.
#[tokio::test(flavor = "multi_thread")]
async fn every_lab_target_gets_exactly_its_expected_findings_valid_reports_and_stable_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let mut runs: Vec<BTreeMap<String, Vec<String>>> = Vec::new();
    for run in 0..2 {
        let lab = Lab::start(LabOptions::default()).await.unwrap();
        let mut by_target = BTreeMap::new();
        for t in lab.targets() {
            let what = format!("{}/{}", t.scenario, t.variant.as_str());
            let sarif = dir.path().join(format!("{}-{}-{run}.sarif", t.scenario, t.variant.as_str()));
            let sarif_arg = format!("sarif={}", sarif.display());
            // 10 race rounds: a miss is negligible here (the serial race test holds the 3-round figure).
            let out = mortar(
                &scan_args(t, &["--format", "json", "--race-rounds", "10", "--report", sarif_arg.as_str()]),
                &[],
            )
            .await;
            assert_eq!(out.code, 0, "{what}: {}", out.stderr);
            let report = assert_valid_report(&out.stdout);
            let mut checks = finding_checks(&report);
            checks.sort();
            checks.dedup();
            let mut expected: Vec<String> = t
                .expected
                .iter()
                .map(|e| match e {
                    mortar_lab::Expected::Check(c) | mortar_lab::Expected::At { check: c, .. } => c.clone(),
                })
                .collect();
            // Checks, not findings: one check may be expected at several places (the demo judges those).
            expected.sort();
            expected.dedup();
            // Exactly the expected checks, plus only those the target allows (with a reason).
            let allowed: Vec<&str> = t.allowed.iter().map(|a| a.check.as_str()).collect();
            checks.retain(|c| !allowed.contains(&c.as_str()) || expected.contains(c));
            assert_eq!(checks, expected, "{what} (run {run})");
            for finding in report["findings"].as_array().unwrap() {
                assert!(!finding["evidence"].as_array().unwrap().is_empty(), "finding without evidence");
                // A curl line; a race is reproduced with `mortar race` after its setup's curl.
                let reproduce = finding["reproduce"].as_str().unwrap();
                // A race on a never-seen client certificate first issues one with openssl.
                assert!(
                    ["curl ", "mortar race ", "openssl req "].iter().any(|p| reproduce.starts_with(p)),
                    "{reproduce}"
                );
            }
            let fingerprints = crate::reports::check_sarif(&std::fs::read_to_string(&sarif).unwrap(), &what);
            assert_eq!(fingerprints.is_empty(), report["findings"].as_array().unwrap().is_empty(), "{what}");
            by_target.insert(what, fingerprints);
        }
        runs.push(by_target);
        lab.shutdown();
    }
    assert_eq!(runs[0], runs[1], "SARIF fingerprints changed between two runs on new ports");
}

/// Finding ids hash the check, method, path and component, never the port.
#[tokio::test(flavor = "multi_thread")]
async fn finding_ids_survive_a_lab_restart_on_new_ports() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
        let t = target(&lab, "cors-reflection", "vulnerable");
        let out = mortar(&scan_args(t, &["--format", "json"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        let ids: Vec<String> =
            report["findings"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
        runs.push((t.url.clone(), ids));
        lab.shutdown();
    }
    assert_ne!(runs[0].0, runs[1].0, "the lab should have moved ports");
    assert!(!runs[0].1.is_empty());
    assert_eq!(runs[0].1, runs[1].1);
}

#[tokio::test(flavor = "multi_thread")]
async fn threshold_100_fails_on_findings_and_passes_on_the_fixed_variant() {
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let vulnerable =
        mortar(&scan_args(target(&lab, "cors-reflection", "vulnerable"), &["--threshold", "100"]), &[]).await;
    assert_eq!(vulnerable.code, 1, "{}", vulnerable.stderr);
    assert!(vulnerable.stderr.contains("gate failed"));
    let fixed = mortar(&scan_args(target(&lab, "cors-reflection", "fixed"), &["--threshold", "100"]), &[]).await;
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    let fail_on = mortar(&scan_args(target(&lab, "cors-reflection", "vulnerable"), &["--fail-on", "high"]), &[]).await;
    assert_eq!(fail_on.code, 1);
    lab.shutdown();
}

/// The lab target echoes the caller's token in its body: evidence must not.
#[tokio::test(flavor = "multi_thread")]
async fn evidence_never_contains_an_identity_secret_even_when_echoed() {
    let lab = Lab::start_only(&["version-disclosure"]).await.unwrap();
    let t = target(&lab, "version-disclosure", "vulnerable");
    let identity_file = t.scan_args.iter().find_map(|a| a.split_once(":@").map(|(_, f)| f.to_string())).unwrap();
    let header = std::fs::read_to_string(&identity_file).unwrap();
    let token = header.trim().strip_prefix("Bearer ").unwrap().to_string();
    assert!(token.len() >= 16);
    let dir = tempfile::tempdir().unwrap();
    let json_file = dir.path().join("report.json");
    let report_arg = format!("json={}", json_file.display());
    let json = mortar(&scan_args(t, &["--format", "json", "--report", &report_arg]), &[]).await;
    assert_eq!(json.code, 0, "{}", json.stderr);
    let summary = mortar(&scan_args(t, &["--format", "summary"]), &[]).await;
    let file = std::fs::read_to_string(&json_file).unwrap();
    // The echo was captured (so redaction, not absence, keeps the token out).
    assert!(json.stdout.contains("$MORTAR_ALICE_AUTHORIZATION"), "echoed body not in evidence");
    for (what, text) in
        [("json", &json.stdout), ("summary", &summary.stdout), ("file", &file), ("stderr", &json.stderr)]
    {
        assert!(!text.contains(&token), "{what} output contains the secret");
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_identity_stops_the_scan_with_exit_2() {
    let lab = Lab::start_only(&["version-disclosure"]).await.unwrap();
    let t = target(&lab, "version-disclosure", "fixed");
    let ca = lab.ca_cert_path().to_str().unwrap().to_string();
    let out = mortar(&["scan", &t.url, "--ca-cert", &ca, "--header", "Authorization: Bearer wrong"], &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no identity is accepted"), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong"), "the refused secret was printed: {}", out.stderr);
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn passive_categories_only_and_untested_ones_are_na() {
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = target(&lab, "cors-reflection", "fixed");
    let out = mortar(&scan_args(t, &["--format", "json", "--profile", "passive"]), &[]).await;
    let report = assert_valid_report(&out.stdout);
    let bola = report["categories"].as_array().unwrap().iter().find(|c| c["id"] == "bola").unwrap();
    assert_eq!(bola["grade"], "N/A");
    assert!(bola["score"].is_null());
    assert!(report["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("not tested")));
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_exits_0_with_full_recall_and_precision() {
    let out = mortar(&["demo"], &[]).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let expected: usize = mortar_lab::Lab::start(LabOptions::default())
        .await
        .map(|lab| {
            let n = lab.targets().iter().map(|t| t.expected.len()).sum();
            lab.shutdown();
            n
        })
        .unwrap();
    assert!(out.stdout.contains(&format!("recall {expected}/{expected} (100%)")), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn baseline_gates_only_new_findings() {
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = target(&lab, "cors-reflection", "vulnerable");
    let first = mortar(&scan_args(t, &["--format", "json"]), &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("old.json");
    std::fs::write(&baseline, &first.stdout).unwrap();
    let plain = mortar(&scan_args(t, &["--threshold", "90"]), &[]).await;
    assert_eq!(plain.code, 1);
    let gated = mortar(
        &scan_args(t, &["--threshold", "90", "--baseline", baseline.to_str().unwrap(), "--format", "json"]),
        &[],
    )
    .await;
    assert_eq!(gated.code, 0, "{}", gated.stderr);
    let report = assert_valid_report(&gated.stdout);
    assert_eq!(report["gate_score"], 100);
    assert!(report["findings"].as_array().unwrap().iter().all(|f| f["status"] == "unchanged"));
    lab.shutdown();
}

/// Passive and standard scans send only GET, HEAD and OPTIONS: counted at the lab's servers.
#[tokio::test(flavor = "multi_thread")]
async fn passive_and_standard_scans_send_only_safe_methods() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    for profile in ["passive", "standard"] {
        lab.reset_methods();
        // The identities' own login recipes are POSTs in every profile: the
        // reports count them, and they are the only unsafe requests allowed.
        let mut logins = 0;
        for t in lab.targets() {
            let out = mortar(&scan_args(t, &["--profile", profile, "--format", "json"]), &[]).await;
            assert!(out.code == 0 || out.code == 1, "{}: {}", t.scenario, out.stderr);
            let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
            let identities = report["coverage"]["identities"].as_array().unwrap();
            logins += identities.iter().map(|i| i["logins"].as_u64().unwrap()).sum::<u64>();
        }
        let mut seen = lab.methods_seen();
        assert!(seen.values().sum::<u64>() > 0, "the counter saw nothing");
        assert_eq!(seen.remove("POST").unwrap_or(0), logins, "{profile}: POSTs beyond the login recipes: {seen:?}");
        let unsafe_methods: Vec<&String> =
            seen.keys().filter(|m| !matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS")).collect();
        assert!(unsafe_methods.is_empty(), "{profile} sent {unsafe_methods:?}: {seen:?}");
    }
    lab.shutdown();
}

/// `mortar diff`: the fixed variant's report, then the vulnerable one's: its
/// findings are new (exit 1); a report against itself has nothing new (exit 0).
#[tokio::test(flavor = "multi_thread")]
async fn diff_names_new_and_fixed_findings() {
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for variant in ["fixed", "vulnerable"] {
        let t = target(&lab, "cors-reflection", variant);
        let out = mortar(&scan_args(t, &["--format", "json"]), &[]).await;
        let path = dir.path().join(format!("{variant}.json"));
        std::fs::write(&path, &out.stdout).unwrap();
        paths.push(path.to_str().unwrap().to_string());
    }
    let forward = mortar(&["diff", &paths[0], &paths[1], "--format", "json"], &[]).await;
    assert_eq!(forward.code, 1, "{}", forward.stderr);
    let d: serde_json::Value = serde_json::from_str(&forward.stdout).unwrap();
    let new_checks: Vec<&str> = d["new"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
    assert!(new_checks.contains(&"misconfiguration.cors-reflected-origin"), "{new_checks:?}");
    assert!(d["fixed"].as_array().unwrap().is_empty());
    let backward = mortar(&["diff", &paths[1], &paths[0], "--format", "markdown"], &[]).await;
    assert_eq!(backward.code, 0);
    assert!(backward.stdout.contains("### Fixed"), "{}", backward.stdout);
    let same = mortar(&["diff", &paths[1], &paths[1]], &[]).await;
    assert_eq!(same.code, 0);
    assert!(same.stdout.contains("0 new"), "{}", same.stdout);
    lab.shutdown();
}

//! Access-control checks on the lab's invoicing API (two customers,
//! sequential ids): BOLA proven with both identities' exchanges, none on the
//! fixed variant; with one identity, a tentative finding from adjacent ids.

use crate::support::{assert_valid_report, finding_checks, mortar, scan_args, target};
use mortar_lab::{Lab, LabOptions};

#[tokio::test(flavor = "multi_thread")]
async fn bola_is_proven_with_both_identities_and_absent_when_fixed() {
    let lab = Lab::start_only(&["bola-invoices"]).await.unwrap();
    let vulnerable = target(&lab, "bola-invoices", "vulnerable");
    let out = mortar(&scan_args(vulnerable, &["--format", "json", "--checks", "bola.*"]), &[]).await;
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    assert_eq!(finding_checks(&report), vec!["bola.cross-identity-read"]);
    let finding = &report["findings"][0];
    assert_eq!(finding["confidence"], "confirmed");
    let evidence = finding["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 2, "the owner's exchange and the other identity's");
    // One object, asked by two identities, answered 200 to both with the same data.
    assert_eq!(evidence[0]["request"]["url"], evidence[1]["request"]["url"]);
    for e in evidence {
        assert_eq!(e["response"]["status"], 200, "{e}");
    }
    assert_eq!(evidence[0]["response"]["body"], evidence[1]["response"]["body"]);
    assert!(finding["reproduce"].as_str().unwrap().contains("$MORTAR_BOB_AUTHORIZATION"));

    // Sequential ids, the same probes: nothing when the owner is part of the lookup.
    let fixed = target(&lab, "bola-invoices", "fixed");
    let out = mortar(&scan_args(fixed, &["--format", "json", "--checks", "bola.*"]), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    assert!(finding_checks(&report).is_empty());
    let coverage = report["coverage"]["checks"].as_array().unwrap();
    let bola = coverage.iter().find(|c| c["check"] == "bola.cross-identity-read").unwrap();
    assert_eq!(bola["status"], "ran", "{bola}");

    // One identity: ids next to its own, read as itself. The vulnerable
    // variant serves a neighbour's invoice (tentative: whose it is cannot be
    // known with one identity); the fixed one answers 404.
    for (t, expected) in [(vulnerable, vec!["bola.cross-identity-read"]), (fixed, vec![])] {
        let mut alice_only: Vec<&str> = scan_args(t, &["--format", "json", "--checks", "bola.*"]);
        let bob = alice_only.iter().position(|a| a.starts_with("bob=")).unwrap();
        alice_only.drain(bob - 1..=bob);
        let out = mortar(&alice_only, &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(finding_checks(&report), expected, "{}", t.variant.as_str());
        if let Some(finding) = report["findings"].as_array().unwrap().first() {
            assert_eq!(finding["confidence"], "tentative");
            assert!(finding["description"].as_str().unwrap().contains("second identity"));
        }
    }
    lab.shutdown();
}

/// In the active profile the reachability sweep also sends the writes, and a
/// write to the owner's object answers with the owner's data: that answer is
/// not the other identity's own data, so the read is still proven.
#[tokio::test(flavor = "multi_thread")]
async fn bola_is_proven_in_the_active_profile_beside_writes_to_the_same_objects() {
    let lab = Lab::start_only(&["api-200"]).await.unwrap();
    for (variant, expected) in [("vulnerable", vec!["bola.cross-identity-read"]), ("fixed", vec![])] {
        let t = target(&lab, "api-200", variant);
        let args = ["--format", "json", "--profile", "active", "--checks", "bola.cross-identity-read"];
        let out = mortar(&scan_args(t, &args), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(finding_checks(&report), expected, "{variant}: {}", out.stderr);
    }
    lab.shutdown();
}

/// The findings' (check, component) pairs of one check.
fn components(report: &serde_json::Value, check: &str) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| f["component"].as_str().unwrap_or_default().to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_tokens_are_proven_accepted_and_refused_when_fixed() {
    let lab = Lab::start_only(&["bearer-presence", "jwt-auth"]).await.unwrap();
    let check = "authentication.forged-token-accepted";
    let cases = [
        ("jwt-auth", "vulnerable", vec!["jwt-alg-none", "jwt-expired"]),
        ("jwt-auth", "fixed", vec![]),
        ("bearer-presence", "vulnerable", vec!["random-token"]),
        ("bearer-presence", "fixed", vec![]),
    ];
    for (scenario, variant, expected) in cases {
        let t = target(&lab, scenario, variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--checks", "authentication.*"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(components(&report, check), expected, "{scenario} {variant}: {}", out.stderr);
        let coverage = report["coverage"]["checks"].as_array().unwrap();
        let ran = coverage.iter().find(|c| c["check"] == check).unwrap();
        assert_eq!(ran["status"], "ran", "{scenario} {variant}: {ran}");
        // The identity's token (and its claims segment) never reach the report.
        let identity = t.scan_args.iter().find_map(|a| a.strip_prefix("alice=Authorization:@")).unwrap();
        let authorization = std::fs::read_to_string(identity).unwrap();
        let token = authorization.trim_start_matches("Bearer ");
        for part in std::iter::once(token).chain(token.split('.').filter(|p| p.len() > 8)) {
            assert!(!out.stdout.contains(part), "{scenario} {variant}: a token part is in the report");
        }
        for finding in report["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check) {
            assert_eq!(finding["confidence"], "confirmed");
            let evidence = finding["evidence"].as_array().unwrap();
            // The control (refused without the credential), then the forgery served.
            assert_eq!(evidence[0]["response"]["status"], 401, "{finding}");
            assert_eq!(evidence[1]["response"]["status"], 200, "{finding}");
            assert!(finding["reproduce"].as_str().unwrap().starts_with("curl "));
        }
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn property_exposure_and_mass_assignment_are_proven_and_absent_when_fixed() {
    let lab = Lab::start_only(&["mass-assignment", "user-exposure"]).await.unwrap();
    let exposure = "property-authorization.excessive-exposure";
    let assignment = "property-authorization.mass-assignment";
    for (scenario, variant, check, expected) in [
        ("user-exposure", "vulnerable", exposure, vec!["is_admin", "password_hash"]),
        ("user-exposure", "fixed", exposure, vec![]),
        ("mass-assignment", "vulnerable", assignment, vec!["credits", "role"]),
        ("mass-assignment", "fixed", assignment, vec![]),
    ] {
        let t = target(&lab, scenario, variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--checks", "property-authorization.*"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(components(&report, check), expected, "{scenario} {variant}: {}", out.stderr);
        let coverage = report["coverage"]["checks"].as_array().unwrap();
        let ran = coverage.iter().find(|c| c["check"] == check).unwrap();
        assert_eq!(ran["status"], "ran", "{scenario} {variant}: {ran}");
        // The stored password hashes never reach the report whole.
        assert!(!out.stdout.contains("$argon2id$v=19$m=19456"), "{scenario} {variant}: a hash is in the report");
        for finding in report["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check) {
            assert_eq!(finding["confidence"], "confirmed");
            if check == assignment {
                let evidence = finding["evidence"].as_array().unwrap();
                // Read, write, read back: the property changed, then was put back.
                assert_eq!(evidence.len(), 3, "{finding}");
                assert_eq!(evidence[1]["request"]["method"], "PATCH");
                assert!(finding["description"].as_str().unwrap().contains("written back afterwards"), "{finding}");
            } else {
                assert_eq!(finding["affected"].as_array().unwrap().len(), 2, "both operations: {finding}");
            }
        }
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn bfla_is_found_with_declared_or_inferred_roles_and_absent_when_fixed() {
    let lab = Lab::start_only(&["bfla-admin", "bfla-console"]).await.unwrap();
    let check = "bfla.privileged-operation";
    let dir = tempfile::tempdir().unwrap();
    // actix-web, then axum.
    let cases =
        ["bfla-admin", "bfla-console"].into_iter().flat_map(|s| [(s, "vulnerable", vec![check]), (s, "fixed", vec![])]);
    for (scenario, variant, expected) in cases {
        let t = target(&lab, scenario, variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--checks", "bfla.*,bola.*"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        // The administrator reading everyone's data is not BOLA either.
        assert_eq!(finding_checks(&report), expected, "{scenario} {variant}: {}", out.stderr);
        if let Some(finding) = report["findings"].as_array().unwrap().first() {
            assert_eq!(finding["confidence"], "confirmed");
            assert_eq!(finding["endpoint"]["path"], "/api/v1/admin/users");
            let statuses: Vec<&serde_json::Value> =
                finding["evidence"].as_array().unwrap().iter().map(|e| &e["response"]["status"]).collect();
            assert_eq!(statuses, [401, 200, 200], "anonymous refused, the user and the administrator served");
        }
        // Without declared roles the API's own 403 on the audit log tells who the ordinary user is.
        let config = t.scan_args.iter().position(|a| a == "--config").map(|i| &t.scan_args[i + 1]).unwrap();
        let unlabelled = dir.path().join(format!("{scenario}-{variant}.toml"));
        let text = std::fs::read_to_string(config).unwrap();
        std::fs::write(&unlabelled, text.lines().filter(|l| !l.starts_with("role")).collect::<Vec<_>>().join("\n"))
            .unwrap();
        let mut args = scan_args(t, &["--format", "json", "--checks", "bfla.*"]);
        let at = args.iter().position(|a| *a == config.as_str()).unwrap();
        let unlabelled = unlabelled.display().to_string();
        args[at] = &unlabelled;
        let report = assert_valid_report(&mortar(&args, &[]).await.stdout);
        assert_eq!(finding_checks(&report), expected, "{variant}, roles inferred");
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn ssrf_is_proven_by_the_canary_and_absent_when_fixed() {
    let lab = Lab::start_only(&["ssrf-preview", "ssrf-webhook"]).await.unwrap();
    let checks = "ssrf.*,unsafe-consumption.*";
    for (scenario, variant, expected) in [
        ("ssrf-preview", "vulnerable", vec!["ssrf.canary-fetch", "unsafe-consumption.redirect-followed"]),
        ("ssrf-preview", "fixed", vec![]),
        ("ssrf-webhook", "vulnerable", vec!["ssrf.canary-fetch"]),
        ("ssrf-webhook", "fixed", vec![]),
    ] {
        let t = target(&lab, scenario, variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--checks", checks]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(finding_checks(&report), expected, "{scenario} {variant}: {}", out.stderr);
        let coverage = report["coverage"]["checks"].as_array().unwrap();
        let ssrf = coverage.iter().find(|c| c["check"] == "ssrf.canary-fetch").unwrap();
        assert_eq!(ssrf["status"], "ran", "{scenario} {variant}: {ssrf}");
        for finding in report["findings"].as_array().unwrap() {
            assert_eq!(finding["confidence"], "confirmed");
            let note = finding["evidence"][0]["note"].as_str().unwrap();
            assert!(note.contains("/mortar-canary/"), "{note}");
        }
    }
    // The canary where the user says, under the URL the target reaches it by.
    let t = target(&lab, "ssrf-preview", "vulnerable");
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let listen = format!("127.0.0.1:{port}");
    let url = format!("http://localhost:{port}");
    let args =
        scan_args(t, &["--format", "json", "--checks", checks, "--canary-listen", &listen, "--canary-url", &url]);
    let report = assert_valid_report(&mortar(&args, &[]).await.stdout);
    assert!(finding_checks(&report).iter().any(|c| c == "ssrf.canary-fetch"));
    assert!(report["findings"][0]["reproduce"].as_str().unwrap().contains("localhost"));
    // A canary that cannot listen: SSRF is not tested, and coverage says so.
    let args = scan_args(t, &["--format", "json", "--checks", checks, "--canary-listen", "192.0.2.1:9"]);
    let report = assert_valid_report(&mortar(&args, &[]).await.stdout);
    assert!(finding_checks(&report).is_empty());
    let coverage = report["coverage"]["checks"].as_array().unwrap();
    let ssrf = coverage.iter().find(|c| c["check"] == "ssrf.canary-fetch").unwrap();
    assert_eq!(ssrf["status"], "skipped");
    assert!(ssrf["reason"].as_str().unwrap().starts_with("SSRF not tested"), "{ssrf}");
    // Mistakes in the canary options are one usage line.
    for (extra, message) in [
        (vec!["--canary-listen", "somewhere"], "not an address and port"),
        (vec!["--canary-url", "http://127.0.0.1:9"], "canary_url needs canary_listen"),
        (vec!["--canary-listen", "127.0.0.1:0", "--canary-url", "ftp://x"], "not an http:// or https:// URL"),
    ] {
        let out = mortar(&scan_args(t, &extra), &[]).await;
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains(message), "{}", out.stderr);
    }
    lab.shutdown();
}

/// The access-control and API categories on every fixed target, in the active
/// profile (writes, forgeries and canary probes included): nothing to report.
#[tokio::test(flavor = "multi_thread")]
async fn active_scans_of_fixed_targets_report_nothing_in_the_access_categories() {
    let lab = Lab::start(LabOptions::default()).await.unwrap();
    let categories = "authentication,bola,bfla,property-authorization,ssrf,rate-limiting,unsafe-consumption,llm";
    let mut scanned = 0;
    for t in lab.targets().iter().filter(|t| t.variant.as_str() == "fixed") {
        let out =
            mortar(&scan_args(t, &["--profile", "active", "--format", "json", "--checks", categories]), &[]).await;
        assert!(out.code == 0 || out.code == 1, "{}: {}", t.scenario, out.stderr);
        let report = assert_valid_report(&out.stdout);
        assert_eq!(report["profile"], "active");
        assert!(finding_checks(&report).is_empty(), "{}: {:?}", t.scenario, finding_checks(&report));
        scanned += 1;
    }
    assert!(scanned >= 10, "{scanned} fixed targets");
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn unlimited_sign_in_is_found_and_a_throttled_one_is_not() {
    let lab = Lab::start_only(&["login-throttle"]).await.unwrap();
    let check = "rate-limiting.sensitive-operation-unlimited";
    for (variant, expected) in [("vulnerable", vec![check]), ("fixed", vec![])] {
        let t = target(&lab, "login-throttle", variant);
        let out =
            mortar(&scan_args(t, &["--format", "json", "--checks", "rate-limiting.*", "--rate-burst", "8"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(finding_checks(&report), expected, "{variant}: {}", out.stderr);
        if let Some(finding) = report["findings"].as_array().unwrap().first() {
            assert!(finding["description"].as_str().unwrap().contains("8 requests for a user that does not exist"));
            let body = finding["evidence"][0]["request"]["body"]["content"].as_str().unwrap();
            assert!(body.contains("mortar-nobody-"), "{body}");
        }
        // The standard profile sends no sign-in attempt and says why.
        let out =
            mortar(&scan_args(t, &["--profile", "standard", "--format", "json", "--checks", "rate-limiting.*"]), &[])
                .await;
        let report = assert_valid_report(&out.stdout);
        assert!(finding_checks(&report).is_empty());
        let coverage = report["coverage"]["checks"].as_array().unwrap();
        let rate = coverage.iter().find(|c| c["check"] == check).unwrap();
        assert!(rate["reason"].as_str().unwrap().contains("active profile"), "{rate}");
    }
    let out = mortar(&["scan", "https://127.0.0.1:1/", "--rate-burst", "1"], &[]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("--rate-burst") && out.stderr.contains("not from 2 to 200"), "{}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn llm_probes_prove_injection_and_leaks_and_find_nothing_behind_guard_rails() {
    let lab = Lab::start_only(&["llm-helpdesk", "llm-support"]).await.unwrap();
    let both = vec!["llm.prompt-injection", "llm.system-prompt-leak"];
    // actix-web, then axum.
    let cases = ["llm-support", "llm-helpdesk"]
        .into_iter()
        .flat_map(|s| [(s, "vulnerable", both.clone()), (s, "fixed", vec![])]);
    for (scenario, variant, expected) in cases {
        let t = target(&lab, scenario, variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--checks", "llm"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(finding_checks(&report), expected, "{scenario} {variant}: {}", out.stderr);
        for finding in report["findings"].as_array().unwrap() {
            let answer = finding["evidence"][0]["response"]["body"]["content"].as_str().unwrap();
            let expected_text = if finding["check"] == "llm.prompt-injection" { "MORTAR-CANARY-" } else { "You are" };
            assert!(answer.contains(expected_text), "{answer}");
        }
        // Each probe is a model call: the standard profile sends none.
        let out = mortar(&scan_args(t, &["--profile", "standard", "--format", "json", "--checks", "llm"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        let coverage = report["coverage"]["checks"].as_array().unwrap();
        assert!(coverage.iter().filter(|c| c["category"] == "llm").all(|c| c["status"] == "skipped"));
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn another_identitys_write_is_proven_by_the_owners_read_back_and_undone() {
    let lab = Lab::start_only(&["bola-documents"]).await.unwrap();
    for (variant, expected) in
        // Sorted by severity: the write (critical) first.
        [("vulnerable", vec!["bola.cross-identity-write", "bola.cross-identity-read"]), ("fixed", vec![])]
    {
        let t = target(&lab, "bola-documents", variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--checks", "bola.*"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(finding_checks(&report), expected, "{variant}: {}", out.stderr);
        let write = report["findings"].as_array().unwrap().iter().find(|f| f["check"] == "bola.cross-identity-write");
        if let Some(finding) = write {
            let evidence = finding["evidence"].as_array().unwrap();
            // The owner's read, the other identity's write, the owner's read back.
            assert_eq!(evidence.len(), 3, "{finding}");
            assert_eq!(evidence[1]["request"]["method"], "PATCH");
            assert!(finding["reproduce"].as_str().unwrap().contains("$MORTAR_BOB_AUTHORIZATION"));
            let description = finding["description"].as_str().unwrap();
            assert!(description.contains("The owner wrote the original value back"), "{description}");
            // The owner's own documents (11) are not touched: it creates one for the probe.
            assert!(description.contains("(created by the owner for this probe)"), "{description}");
            assert!(!evidence[1]["request"]["url"].as_str().unwrap().ends_with("/documents/11"), "{finding}");
            let after = evidence[2]["response"]["body"]["content"].as_str().unwrap();
            assert!(after.contains("(mortar bob)"), "{after}");
        }
        // The standard profile writes nothing: the write check does not run.
        let out =
            mortar(&scan_args(t, &["--profile", "standard", "--format", "json", "--checks", "bola.*"]), &[]).await;
        let report = assert_valid_report(&out.stdout);
        assert!(!finding_checks(&report).iter().any(|c| c == "bola.cross-identity-write"));
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_without_paging_is_reported_and_a_paged_one_is_not() {
    let lab = Lab::start_only(&["unbounded-list"]).await.unwrap();
    for (variant, expected) in [("vulnerable", vec!["rate-limiting.unbounded-response"]), ("fixed", vec![])] {
        let t = target(&lab, "unbounded-list", variant);
        let out =
            mortar(&scan_args(t, &["--profile", "passive", "--format", "json", "--checks", "rate-limiting.*"]), &[])
                .await;
        let report = assert_valid_report(&out.stdout);
        assert_eq!(finding_checks(&report), expected, "{variant}: {}", out.stderr);
        if let Some(finding) = report["findings"].as_array().unwrap().first() {
            assert!(finding["description"].as_str().unwrap().contains("600 items"), "{finding}");
        }
    }
    lab.shutdown();
}

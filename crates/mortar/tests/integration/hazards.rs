//! Scans that must not destroy the identities they scan with (the
//! `account-hazards` lab target: self-logout, account lock and close, and a
//! database reset by public GET): destructive operations run last, a lost
//! identity is logged in again or reported with the request that lost it,
//! and outside the active profile a destructive GET is not called at all.

use crate::support::{assert_valid_report, finding_checks, mortar, scan_args, target};
use mortar_engine::{Engine, EngineConfig, Origin, Request};
use mortar_lab::{Lab, LabTarget};
use mortar_model::Target;

const SCENARIO: &str = "account-hazards";

fn engine(lab: &Lab, t: &LabTarget) -> (Engine, Origin) {
    let mut config = EngineConfig::default();
    config.tls.ca_pem = vec![std::fs::read(lab.ca_cert_path()).unwrap()];
    let target = Target::parse(&t.url).unwrap();
    config.scope_hosts = vec![target.host.clone()];
    (Engine::new(config, &[]).unwrap(), Origin::of(&target))
}

/// Signs `who` in with the lab's credentials; the `Authorization` value.
async fn sign_in(lab: &Lab, t: &LabTarget, who: &str) -> String {
    let (engine, origin) = engine(lab, t);
    let body_path = lab.ca_cert_path().with_file_name(format!("{SCENARIO}-{}-{who}-login.json", t.variant.as_str()));
    let request = Request::new("POST", &origin, "/svc/v2/session")
        .header("Content-Type", b"application/json".to_vec())
        .body(std::fs::read(body_path).unwrap());
    let answer = engine.send(request).await.unwrap();
    assert_eq!(answer.response.status, 200, "{}", answer.response.text());
    let json: serde_json::Value = serde_json::from_slice(&answer.response.body).unwrap();
    format!("Bearer {}", json["data"]["access_token"].as_str().unwrap())
}

async fn me_status(lab: &Lab, t: &LabTarget, authorization: &str) -> u16 {
    let (engine, origin) = engine(lab, t);
    let request = Request::get(&origin, "/svc/v2/me").header("Authorization", authorization.as_bytes().to_vec());
    engine.send(request).await.unwrap().response.status
}

/// The target's scan arguments without its configuration (which holds the
/// login recipes and the profile), with identities given as plain tokens.
fn token_args(lab: &Lab, t: &LabTarget, profile: &str, identities: &[String]) -> Vec<String> {
    let mut args =
        vec!["scan".to_string(), t.url.clone(), "--ca-cert".into(), lab.ca_cert_path().display().to_string()];
    args.extend(["--spec".into(), t.spec.clone().unwrap(), "--profile".into(), profile.into()]);
    for identity in identities {
        args.extend(["--identity".into(), identity.clone()]);
    }
    args.extend(["--format".into(), "json".into()]);
    args
}

fn notes(report: &serde_json::Value) -> Vec<String> {
    report["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn destructive_operations_run_last_and_lost_identities_are_logged_in_again_or_reported() {
    let lab = Lab::start_only(&[SCENARIO]).await.unwrap();
    let t = target(&lab, SCENARIO, "vulnerable");

    // With login recipes: the reset at the end ends both sessions, and both log in again.
    let out = mortar(&scan_args(t, &["--format", "json"]), &[]).await;
    let report = assert_valid_report(&out.stdout);
    assert_eq!(finding_checks(&report), ["bola.cross-identity-read"], "{}", out.stderr);
    let notes_seen = notes(&report);
    assert!(notes_seen.iter().any(|n| n.contains("held back to the scan's last phase")), "{notes_seen:?}");
    for who in ["alice", "bob"] {
        let again = format!(
            "Identity {who} stopped working after GET /svc/v2/maintenance/reset-database (HTTP 200) and was logged in again."
        );
        assert!(notes_seen.contains(&again), "{who}: {notes_seen:?}");
    }
    let identities = report["coverage"]["identities"].as_array().unwrap();
    assert!(identities.iter().all(|i| i.get("lost_after").is_none()), "{identities:?}");
    let alice = identities.iter().find(|i| i["name"] == "alice").unwrap();
    assert!(alice["logins"].as_u64().unwrap() >= 2, "{alice}");

    // With plain tokens: nothing can restore them, so the report names the
    // request after which each was lost, and the BOLA was still found first.
    let tokens = [sign_in(&lab, t, "alice").await, sign_in(&lab, t, "bob").await];
    let identities = [format!("alice=Authorization:{}", tokens[0]), format!("bob=Authorization:{}", tokens[1])];
    let args = token_args(&lab, t, "active", &identities);
    let out = mortar(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    let report = assert_valid_report(&out.stdout);
    assert_eq!(finding_checks(&report), ["bola.cross-identity-read"], "{}", out.stderr);
    for who in ["alice", "bob"] {
        let identity = report["coverage"]["identities"].as_array().unwrap().iter().find(|i| i["name"] == who).unwrap();
        assert_eq!(identity["lost_after"], "GET /svc/v2/maintenance/reset-database (HTTP 200)", "{identity}");
        assert!(notes(&report).iter().any(|n| n.starts_with(&format!("Identity {who} stopped working after GET"))));
    }
    assert!(!out.stdout.contains(tokens[0].trim_start_matches("Bearer ")), "a token reached the report");
    for token in &tokens {
        assert_eq!(me_status(&lab, t, token).await, 401, "the reset ran (last)");
    }
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_the_active_profile_a_destructive_get_is_planned_out_and_never_called() {
    let lab = Lab::start_only(&[SCENARIO]).await.unwrap();
    let t = target(&lab, SCENARIO, "fixed");
    let tokens = [sign_in(&lab, t, "alice").await, sign_in(&lab, t, "bob").await];
    let identities = [format!("alice=Authorization:{}", tokens[0]), format!("bob=Authorization:{}", tokens[1])];

    let mut dry = token_args(&lab, t, "standard", &identities);
    dry.push("--dry-run".into());
    let out = mortar(&dry.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("operations not called (1):\n  GET /svc/v2/maintenance/reset-database  (its name says `reset`"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("->  GET /svc/v2/maintenance/reset-database"), "{}", out.stdout);

    let args = token_args(&lab, t, "standard", &identities);
    let out = mortar(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    let report = assert_valid_report(&out.stdout);
    assert_eq!(finding_checks(&report), Vec::<String>::new(), "{}", out.stderr);
    assert!(notes(&report).iter().any(|n| n.starts_with("Not called") && n.contains("reset-database")));
    for token in &tokens {
        assert_eq!(me_status(&lab, t, token).await, 200, "a standard scan ended a session");
    }

    // In the active profile the plan lists the destructive operations after every other one.
    let mut dry = token_args(&lab, t, "active", &identities);
    dry.push("--dry-run".into());
    let out = mortar(&dry.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    let lines: Vec<&str> = out.stdout.lines().filter(|l| l.contains("  ->  ")).collect();
    let first_held = lines.iter().position(|l| l.contains("[last phase:")).expect("held operations are planned");
    assert!(lines[first_held..].iter().all(|l| l.contains("[last phase:")), "{}", out.stdout);
    assert_eq!(lines.len() - first_held, 4, "{}", out.stdout);
    lab.shutdown();
}

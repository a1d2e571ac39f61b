//! Scans driven by an API description.

use crate::support::{assert_valid_report, mortar, ok, raw_server, scan_args, target};
use mortar_lab::Lab;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

/// Every documented operation is reached by at least one identity in the
/// standard profile, and no write reaches the lab.
#[tokio::test(flavor = "multi_thread")]
async fn every_documented_operation_is_reached_without_a_write() {
    let lab = Lab::start_only(&["spec-inventory"]).await.unwrap();
    for variant in ["vulnerable", "fixed"] {
        lab.reset_methods();
        let t = target(&lab, "spec-inventory", variant);
        let out = mortar(&scan_args(t, &["--format", "json", "--profile", "standard"]), &[]).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let report = assert_valid_report(&out.stdout);
        let spec = mortar_spec::load_file(t.spec.as_ref().unwrap()).unwrap();
        let mut reached = BTreeSet::new();
        for identity in report["coverage"]["identities"].as_array().unwrap() {
            for op in identity["operations_reached"].as_array().unwrap() {
                if !op["statuses"].as_array().unwrap().is_empty() {
                    reached
                        .insert((op["method"].as_str().unwrap().to_string(), op["path"].as_str().unwrap().to_string()));
                }
            }
        }
        for op in &spec.operations {
            let key = (op.method.clone(), mortar_spec::join_path("/api/v2", &op.path));
            assert!(reached.contains(&key), "{variant}: {key:?} not reached; reached {reached:?}");
        }
        let writes: Vec<_> =
            lab.methods_seen().into_iter().filter(|(m, _)| !matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS")).collect();
        assert!(writes.is_empty(), "{variant}: writes reached the lab: {writes:?}");
        assert_eq!(report["target"]["spec"], t.spec.clone().unwrap());
    }
    lab.shutdown();
}

/// A description with broken operations: the rest is scanned, the broken ones
/// are listed in coverage with where they are and why.
#[tokio::test(flavor = "multi_thread")]
async fn broken_operations_are_skipped_and_listed() {
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = target(&lab, "cors-reflection", "fixed");
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../mortar-spec/tests/fixtures/nasty/dangling.yaml");
    let out = mortar(&scan_args(t, &["--format", "json", "--spec", spec]), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    let skipped = report["coverage"]["skipped_operations"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().all(|s| s["line"].as_u64().is_some() && !s["reason"].as_str().unwrap().is_empty()));
    assert!(report["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("could not be used")));
    lab.shutdown();
}

/// A description given as a URL on another host is fetched once; that host is not scanned.
#[tokio::test(flavor = "multi_thread")]
async fn a_spec_url_is_fetched_once_and_its_host_is_not_scanned() {
    let document = r#"{"openapi":"3.0.3","info":{"title":"t","version":"1"},"servers":[{"url":"/v9"}],"paths":{"/orders":{"get":{"responses":{"200":{"description":"ok"}}}}}}"#;
    let spec_server = raw_server(move |_, _| Some(ok(document))).await;
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = target(&lab, "cors-reflection", "fixed");
    // `localhost` is another host than the target's 127.0.0.1, for scope.
    let url = format!("http://localhost:{}/openapi.json", spec_server.port);
    let out = mortar(&scan_args(t, &["--format", "json", "--spec", &url]), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    assert_eq!(report["target"]["spec"], url);
    assert_eq!(spec_server.heads.lock().unwrap().len(), 1, "the spec host got more than the one fetch");
    assert_eq!(spec_server.connections.load(Ordering::SeqCst), 1);
    // The target URL's path (/api/) wins over the description's base path (/v9).
    let reached: Vec<String> = report["coverage"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| {
            i["operations_reached"].as_array().unwrap().iter().map(|o| o["path"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(reached.iter().any(|p| p == "/api/orders"), "{reached:?}");
    assert!(!reached.iter().any(|p| p.starts_with("/v9")), "{reached:?}");
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_spec_file_is_one_error_line_naming_file_and_line() {
    let spec = concat!(env!("CARGO_MANIFEST_DIR"), "/../mortar-spec/tests/fixtures/nasty/malformed.json");
    let out = mortar(&["scan", "https://127.0.0.1:9/", "--spec", spec], &[]).await;
    assert_eq!(out.code, 2);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("malformed.json:6"), "{}", out.stderr);
}

/// Ids learned from a list answer are used for the operation on one object:
/// it is reached with a real id (200), not an invented one (404).
#[tokio::test(flavor = "multi_thread")]
async fn ids_learned_from_lists_reach_single_objects() {
    let server = raw_server(|_, head| {
        let line = head.lines().next().unwrap_or_default().to_string();
        let json = |body: &str| {
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                .into_bytes()
        };
        Some(if line.starts_with("GET /things HTTP/1.1") {
            json(r#"{"items":[{"id":"t-7f3a","name":"lamp"}]}"#)
        } else if line.starts_with("GET /things/t-7f3a HTTP/1.1") {
            json(r#"{"id":"t-7f3a","name":"lamp"}"#)
        } else {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
        })
    })
    .await;
    let spec = tempfile::NamedTempFile::new().unwrap();
    let document = r#"{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{
        "/things":{"get":{"responses":{"200":{"description":"list"}}}},
        "/things/{thingId}":{"get":{"parameters":[{"name":"thingId","in":"path","required":true,"schema":{"type":"string"}}],
            "responses":{"200":{"description":"one"},"404":{"description":"none"}}}}}}"#;
    std::fs::write(spec.path(), document).unwrap();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let spec_path = spec.path().display().to_string();
    let out = mortar(&["scan", &url, "--spec", &spec_path, "--format", "json"], &[]).await;
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    let statuses: Vec<u64> = report["coverage"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["operations_reached"].as_array().unwrap().iter())
        .filter(|o| o["path"] == "/things/{thingId}")
        .flat_map(|o| o["statuses"].as_array().unwrap().iter().filter_map(|s| s.as_u64()))
        .collect();
    assert!(statuses.contains(&200), "single object not reached with the learned id: {statuses:?}");
    let heads = server.heads.lock().unwrap();
    assert!(heads.iter().any(|h| h.starts_with("GET /things/t-7f3a ")), "{heads:?}");
}

/// A description fetched by URL follows its external `$ref`s on the same host
/// (each document fetched once) and refuses refs to another host, which skips
/// only the operation that needs one.
#[tokio::test(flavor = "multi_thread")]
async fn a_spec_url_follows_refs_on_its_own_host_only() {
    let elsewhere = raw_server(|_, _| Some(ok("{}"))).await;
    let foreign = format!("http://localhost:{}/other.json#/Thing", elsewhere.port);
    let document = format!(
        r#"{{"openapi":"3.0.3","info":{{"title":"t","version":"1"}},"paths":{{
        "/things":{{"get":{{"responses":{{"200":{{"description":"ok","content":{{"application/json":{{"schema":{{"$ref":"schemas/common.json#/Thing"}}}}}}}}}}}}}},
        "/gadgets":{{"get":{{"responses":{{"200":{{"description":"ok","content":{{"application/json":{{"schema":{{"$ref":"{foreign}"}}}}}}}}}}}}}}}}}}"#
    );
    let common = r#"{"Thing":{"type":"object","properties":{"id":{"type":"string"}}}}"#;
    let spec_server = raw_server(move |_, head| {
        let line = head.lines().next().unwrap_or_default();
        Some(if line.starts_with("GET /openapi.json ") {
            ok(&document)
        } else if line.starts_with("GET /schemas/common.json ") {
            ok(common)
        } else {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec()
        })
    })
    .await;
    let lab = Lab::start_only(&["cors-reflection"]).await.unwrap();
    let t = target(&lab, "cors-reflection", "fixed");
    let url = format!("http://localhost:{}/openapi.json", spec_server.port);
    let out = mortar(&scan_args(t, &["--format", "json", "--spec", &url]), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    let heads: Vec<String> =
        spec_server.heads.lock().unwrap().iter().map(|h| h.lines().next().unwrap_or_default().to_string()).collect();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(heads[1].starts_with("GET /schemas/common.json "), "{heads:?}");
    assert_eq!(elsewhere.connections.load(Ordering::SeqCst), 0, "another host was contacted");
    let skipped = report["coverage"]["skipped_operations"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0]["pointer"].as_str().unwrap().contains("gadgets"), "{skipped:?}");
    lab.shutdown();
}

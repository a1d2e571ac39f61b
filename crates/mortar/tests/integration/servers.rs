//! Where a description's `servers` put the requests (issue 21): each shape,
//! given as a URL and as a file, in the dry run's request lines and in the
//! request lines the target really received.

use crate::support::{mortar, ok, raw_server};

/// The description with `servers` spliced in (`""`: no servers at all).
fn document(servers: &str) -> String {
    format!(
        r#"{{"openapi":"3.0.3","info":{{"title":"shapes","version":"1"}}{servers},"paths":{{"/users/v1":{{"get":{{"responses":{{"200":{{"description":"the users"}}}}}}}},"/books/v1/{{title}}":{{"get":{{"parameters":[{{"name":"title","in":"path","required":true,"schema":{{"type":"string"}}}}],"responses":{{"200":{{"description":"a book"}}}}}}}}}}}}"#
    )
}

/// (servers as written, the base path requests must go under, a fragment of the plan's reason, out-of-scope host)
const SHAPES: &[(&str, &str, &str, Option<&str>)] = &[
    (r#","servers":[{"url":""}]"#, "", "is relative", None),
    (r#","servers":[{"url":"/"}]"#, "", "is relative", None),
    (r#","servers":[{"url":"/api/v3"}]"#, "/api/v3", "is relative", None),
    (r#","servers":[{"url":"v1"}]"#, "/v1", "is relative", None),
    (r#","servers":[{"url":"https://prod.example/base"}]"#, "/base", "out of scope", Some("https://prod.example")),
    ("", "", "no servers", None),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_servers_shape_resolves_against_the_target_origin() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (servers, base, reason, out_of_scope)) in SHAPES.iter().enumerate() {
        let doc = document(servers);
        let served = doc.clone();
        let server = raw_server(move |_, head| {
            let line = head.lines().next().unwrap_or_default();
            Some(if line.starts_with("GET /openapi.json ") { ok(&served) } else { ok(r#"{"ok": true}"#) })
        })
        .await;
        let url = format!("http://127.0.0.1:{}", server.port);
        let file = dir.path().join(format!("shape{i}.json"));
        std::fs::write(&file, &doc).unwrap();
        for spec in [format!("{url}/openapi.json"), file.display().to_string()] {
            let what = format!("servers `{servers}`, spec {spec}");
            server.heads.lock().unwrap().clear();
            let plan = mortar(&["scan", &url, "--spec", &spec, "--dry-run", "--profile", "passive"], &[]).await;
            assert_eq!(plan.code, 0, "{what}: {}", plan.stderr);
            for line in [
                format!("  GET {base}/users/v1  ->  GET {base}/users/v1\n"),
                format!("  GET {base}/books/v1/{{title}}  ->  GET {base}/books/v1/"),
            ] {
                assert!(plan.stdout.contains(&line), "{what}: no line {line:?} in\n{}", plan.stdout);
            }
            let server_line = plan.stdout.lines().find(|l| l.starts_with("server:")).unwrap_or_default();
            assert!(server_line.contains(reason), "{what}: {server_line}");
            assert_eq!(plan.stdout.contains("out of scope:"), out_of_scope.is_some(), "{what}: {}", plan.stdout);
            if let Some(host) = out_of_scope {
                assert!(plan.stdout.contains(host), "{what}");
            }
            // The dry run sends only the description's one GET, and only when it is a URL.
            let sent: Vec<String> = server.heads.lock().unwrap().iter().map(|h| first_line(h)).collect();
            let expected: Vec<String> =
                if spec.starts_with("http") { vec!["GET /openapi.json HTTP/1.1".into()] } else { vec![] };
            assert_eq!(sent, expected, "{what}");

            server.heads.lock().unwrap().clear();
            let scan = mortar(
                &["scan", &url, "--spec", &spec, "--profile", "passive", "--checks", "inventory", "--format", "json"],
                &[],
            )
            .await;
            assert!(scan.code == 0 || scan.code == 1, "{what}: {}", scan.stderr);
            let sent: Vec<String> = server.heads.lock().unwrap().iter().map(|h| first_line(h)).collect();
            let users = format!("GET {base}/users/v1 HTTP/1.1");
            assert!(sent.contains(&users), "{what}: {users:?} never sent; sent {sent:#?}");
            assert!(
                sent.iter().any(|l| l.starts_with(&format!("GET {base}/books/v1/"))),
                "{what}: no book request; sent {sent:#?}"
            );
            assert!(
                !sent.iter().any(|l| l.contains("/openapi.json/")),
                "{what}: requests under the spec's URL: {sent:#?}"
            );
        }
    }
}

fn first_line(head: &str) -> String {
    head.lines().next().unwrap_or_default().to_string()
}

/// An excluded path is never called, not even by the step that learns ids
/// from list answers before the checks (a GET that resets the API is one).
#[tokio::test(flavor = "multi_thread")]
async fn an_excluded_path_is_never_requested() {
    let doc = r#"{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/createdb":{"get":{"responses":{"200":{"description":"resets everything"}}}},"/users":{"get":{"responses":{"200":{"description":"users"}}}}}}"#;
    let server = raw_server(move |_, head| {
        Some(if head.starts_with("GET /openapi.json ") { ok(doc) } else { ok(r#"[{"id": 1}]"#) })
    })
    .await;
    let url = format!("http://127.0.0.1:{}", server.port);
    let spec = format!("{url}/openapi.json");
    let out = mortar(&["scan", &url, "--spec", &spec, "--exclude-path", "/createdb", "--format", "json"], &[]).await;
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let sent: Vec<String> = server.heads.lock().unwrap().iter().map(|h| first_line(h)).collect();
    assert!(sent.iter().any(|l| l.starts_with("GET /users ")), "{sent:#?}");
    assert!(!sent.iter().any(|l| l.contains("/createdb")), "an excluded path was requested: {sent:#?}");
}

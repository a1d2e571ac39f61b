//! End-to-end tests: start the lab, talk raw HTTP/1.1 over TLS to each target.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A parsed HTTP/1.1 response (headers lower-cased).
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A client trusting only the CA file the lab wrote (as the scanner would).
fn connector(lab: &Lab) -> tokio_rustls::TlsConnector {
    let ca = CertificateDer::from_pem_file(lab.ca_cert_path()).expect("ca.pem parses");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).expect("CA accepted");
    let config = rustls::ClientConfig::builder_with_provider(tls::provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Sends one `Connection: close` request and reads the whole response.
async fn request(lab: &Lab, url: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    request_with_body(lab, url, method, path, headers, "").await
}

/// Like [`request`], with a body (none when empty).
async fn request_with_body(
    lab: &Lab,
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let authority = url.strip_prefix("https://").and_then(|rest| rest.split('/').next()).expect("https URL");
    let tcp = tokio::net::TcpStream::connect(authority).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let mut tls = connector(lab).connect(name, tcp).await.expect("TLS handshake");
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        raw.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    tls.write_all(raw.as_bytes()).await.expect("write");
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut bytes)).await;
    // Some servers close without close_notify; whatever arrived is enough.
    if let Ok(Err(err)) = &read {
        assert!(!bytes.is_empty(), "read failed before any byte: {err}");
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("complete head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let mut parts = status_line.split(' ');
    assert_eq!(parts.next(), Some("HTTP/1.1"), "status line: {status_line}");
    let status = parts.next().and_then(|s| s.parse().ok()).expect("status code");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply { status, headers, body: body.to_owned() }
}

fn target<'a>(lab: &'a Lab, scenario: &str, variant: Variant) -> &'a LabTarget {
    lab.targets().iter().find(|t| t.scenario == scenario && t.variant == variant).expect("target present")
}

/// Reads `Bearer <token>` from the file named in `--identity alice=Authorization:@FILE`.
fn authorization(target: &LabTarget) -> String {
    let position = target.scan_args.iter().position(|a| a == "--identity").expect("--identity");
    let spec = &target.scan_args[position + 1];
    let file = spec.strip_prefix("alice=Authorization:@").expect("identity spec");
    std::fs::read_to_string(file).expect("identity file")
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_are_distinct_loopback_services() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab starts");
    let targets = lab.targets();
    // Every scenario, in registry order, as a vulnerable then a fixed target.
    let order: Vec<(&str, Variant)> = targets.iter().map(|t| (t.scenario.as_str(), t.variant)).collect();
    let wanted: Vec<(&str, Variant)> =
        scenarios::ALL.iter().flat_map(|s| [(s.name, Variant::Vulnerable), (s.name, Variant::Fixed)]).collect();
    assert_eq!(order, wanted);

    let ca = lab.ca_cert_path().display().to_string();
    let mut ports = HashSet::new();
    let mut plaintext = 0;
    for target in targets {
        let (scheme, rest) = target.url.split_once("://127.0.0.1:").expect("URL on 127.0.0.1");
        let port: u16 = rest.split('/').next().and_then(|p| p.parse().ok()).expect("port");
        assert!(ports.insert(port), "port {port} reused");
        match scheme {
            "https" => assert_eq!(target.scan_args[..2], ["--ca-cert".to_owned(), ca.clone()]),
            "http" => plaintext += 1,
            other => panic!("unexpected scheme {other} in {}", target.url),
        }
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("target listens");
    }
    assert_eq!(ports.len(), targets.len());
    assert!(plaintext < targets.len(), "most targets are served over TLS");

    // The two original targets answer over TLS with the lab's CA.
    for scenario in ["cors-reflection", "version-disclosure"] {
        for variant in [Variant::Vulnerable, Variant::Fixed] {
            let url = &target(&lab, scenario, variant).url;
            let reply = request(&lab, url, "GET", "/api/", &[]).await;
            assert!([200, 401].contains(&reply.status), "{url}: status {}", reply.status);
        }
    }

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(lab.ca_cert_path()).expect("ca.pem").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_vulnerable_reflects_and_fixed_does_not() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab starts");
    let evil = [("Origin", "https://evil.example")];

    let vulnerable = target(&lab, "cors-reflection", Variant::Vulnerable);
    assert_eq!(
        vulnerable
            .expected
            .iter()
            .map(|e| match e {
                Expected::Check(c) => c.as_str(),
                Expected::At { check, .. } => check.as_str(),
            })
            .collect::<Vec<_>>(),
        ["misconfiguration.cors-reflected-origin"]
    );
    let reply = request(&lab, &vulnerable.url, "GET", "/api/orders", &evil).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://evil.example"));
    assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));
    assert!(reply.body.contains("ord_1001"), "body: {}", reply.body);
    let preflight = [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "GET")];
    let reply = request(&lab, &vulnerable.url, "OPTIONS", "/api/orders", &preflight).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://evil.example"));
    assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));

    let fixed = target(&lab, "cors-reflection", Variant::Fixed);
    assert!(fixed.expected.is_empty());
    let reply = request(&lab, &fixed.url, "GET", "/api/orders", &evil).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), None);
    assert_eq!(reply.header("vary"), Some("Origin"));
    let reply = request(&lab, &fixed.url, "OPTIONS", "/api/orders", &preflight).await;
    assert_eq!(reply.header("access-control-allow-origin"), None);
    let good = [("Origin", "https://app.example.com")];
    let reply = request(&lab, &fixed.url, "GET", "/api/", &good).await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://app.example.com"));
}

#[tokio::test(flavor = "multi_thread")]
async fn version_disclosure_needs_the_token_and_only_vulnerable_discloses() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab starts");

    let vulnerable = target(&lab, "version-disclosure", Variant::Vulnerable);
    let fixed = target(&lab, "version-disclosure", Variant::Fixed);
    let vulnerable_auth = authorization(vulnerable);
    let fixed_auth = authorization(fixed);
    assert!(vulnerable_auth.starts_with("Bearer ") && vulnerable_auth.len() == 7 + 32);
    assert_ne!(vulnerable_auth, fixed_auth, "each variant has its own token");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let file = vulnerable.scan_args.last().and_then(|s| s.split_once('@')).expect("@file").1;
        let mode = std::fs::metadata(file).expect("identity").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Without (or with the wrong) token: 401 JSON, still disclosing on the vulnerable side.
    let reply = request(&lab, &vulnerable.url, "GET", "/api/", &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, r#"{"error":"unauthorized"}"#);
    assert_eq!(reply.header("server"), Some("inventory-api/2.4.1"));
    let reply = request(&lab, &fixed.url, "GET", "/api/", &[("Authorization", &vulnerable_auth)]).await;
    assert_eq!(reply.status, 401, "tokens are per variant");
    assert_eq!(reply.header("server"), None);

    let reply = request(&lab, &vulnerable.url, "GET", "/api/", &[("Authorization", &vulnerable_auth)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("server"), Some("inventory-api/2.4.1"));
    assert_eq!(reply.header("x-powered-by"), Some("actix-web/4.4.0"));
    let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON body");
    assert_eq!(body["caller"], vulnerable_auth.as_str(), "the credential is echoed");

    let reply = request(&lab, &fixed.url, "GET", "/api/items", &[("Authorization", &fixed_auth)]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("server"), None);
    assert_eq!(reply.header("x-powered-by"), None);
    assert!(reply.body.contains("KB-104"), "body: {}", reply.body);

    assert_eq!(
        vulnerable.scan_args,
        [
            "--ca-cert".to_owned(),
            lab.ca_cert_path().display().to_string(),
            "--identity".to_owned(),
            format!("alice=Authorization:@{}/version-disclosure-vulnerable.identity", lab.dir.path().display()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_line_is_one_line_with_keys_in_order() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab starts");
    for target in lab.targets() {
        let line = target.to_json_line();
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        let value: serde_json::Value = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(value["variant"], target.variant.as_str());
        assert_eq!(value["spec"].as_str(), target.spec.as_deref());
        // serde_json::Value sorts keys, so check the order on the text itself.
        let keys = ["scenario", "variant", "url", "spec", "scan_args", "expected", "allowed"];
        let positions: Vec<usize> =
            keys.iter().map(|k| line.find(&format!("\"{k}\":")).expect("key present")).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
        assert_eq!(value.as_object().map(|o| o.len()), Some(keys.len()));
    }
    let at = Expected::At { check: "c".into(), method: "GET".into(), path: "/p".into() };
    assert_eq!(serde_json::to_string(&at).expect("serialises"), r#"{"check":"c","method":"GET","path":"/p"}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_stops_servers_and_removes_files() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab starts");
    let dir = lab.dir.path().to_owned();
    let authorities: Vec<String> = lab
        .targets()
        .iter()
        .map(|t| t.url["https://".len()..].split('/').next().unwrap_or_default().to_owned())
        .collect();
    lab.shutdown();
    assert!(!dir.exists(), "temp dir removed");
    for authority in authorities {
        // Connection refused, or at least no TLS service behind it any more.
        let connected = tokio::net::TcpStream::connect(&authority).await;
        assert!(connected.is_err(), "{authority} still accepts connections");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn max_lifetime_stops_the_lab() {
    let options = LabOptions { max_lifetime: Some(Duration::from_millis(300)) };
    let lab = Lab::start(options).await.expect("lab starts");
    tokio::time::timeout(Duration::from_secs(5), lab.wait()).await.expect("lifetime elapses");
    // Give the accept loops and actix a moment to close their sockets.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for target in lab.targets() {
        let authority = target.url["https://".len()..].split('/').next().unwrap_or_default();
        assert!(tokio::net::TcpStream::connect(authority).await.is_err(), "{authority} still accepts connections");
    }
}

/// The four injection scenarios answer their example alike in both
/// variants, and evaluate (or follow) the payload only when vulnerable.
#[tokio::test(flavor = "multi_thread")]
async fn injection_scenarios_answer_their_payloads_only_when_vulnerable() {
    let names = ["command-injection", "template-injection", "path-traversal", "open-redirect"];
    let lab = Lab::start_only(&names).await.expect("lab starts");
    for name in names {
        let vulnerable = target(&lab, name, Variant::Vulnerable);
        assert_eq!(vulnerable.expected.len(), 1, "{name}");
        assert!(target(&lab, name, Variant::Fixed).expected.is_empty(), "{name}");
        // The active profile where the check needs it, through a configuration file.
        assert_eq!(vulnerable.scan_args.contains(&"--config".to_owned()), name != "open-redirect", "{name}");
    }
    let get = async |name: &str, variant: Variant, path: &str| {
        request(&lab, &target(&lab, name, variant).url, "GET", path, &[]).await
    };

    // Command injection: `;echo mrtr$((4127*7))z` after the host.
    let example = "/diag/v2/hosts/db.internal/lookup";
    let payload = "/diag/v2/hosts/db.internal%3Becho%20mrtr%24%28%284127%2A7%29%29z/lookup";
    for variant in [Variant::Vulnerable, Variant::Fixed] {
        let reply = get("command-injection", variant, example).await;
        assert_eq!(reply.status, 200);
        assert!(reply.body.contains("db.internal has address 10.0.0.12"), "{}", reply.body);
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
    let reply = get("command-injection", Variant::Vulnerable, payload).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("mrtr28889z"), "{}", reply.body);
    let reply = get("command-injection", Variant::Fixed, payload).await;
    assert_eq!(reply.status, 400);
    assert!(!reply.body.contains("28889"), "{}", reply.body);

    // Template injection: `{{4127*7}}` in the subject.
    let post = async |variant: Variant, subject: &str| {
        let body = serde_json::json!({"channel": "email", "subject": subject, "recipient": "Ana"}).to_string();
        let url = &target(&lab, "template-injection", variant).url;
        let headers = [("Content-Type", "application/json")];
        request_with_body(&lab, url, "POST", "/notify/v1/previews", &headers, &body).await
    };
    for variant in [Variant::Vulnerable, Variant::Fixed] {
        let reply = post(variant, "Your order shipped").await;
        assert_eq!(reply.status, 200);
        assert!(reply.body.contains("Subject: Your order shipped"), "{}", reply.body);
    }
    let reply = post(Variant::Vulnerable, "Shippedmrtr{{4127*7}}z").await;
    assert!(reply.body.contains("mrtr28889z"), "{}", reply.body);
    let reply = post(Variant::Fixed, "Shippedmrtr{{4127*7}}z").await;
    assert!(reply.body.contains("mrtr{{4127*7}}z"), "{}", reply.body);
    let reply = post(Variant::Vulnerable, "{{ broken").await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body, r#"{"error":"the preview could not be rendered"}"#, "no engine text");

    // Path traversal: `../` sequences to /etc/passwd.
    for variant in [Variant::Vulnerable, Variant::Fixed] {
        let reply = get("path-traversal", variant, "/docs/v1/attachments?name=handbook.txt").await;
        assert_eq!(reply.status, 200);
        assert!(reply.body.starts_with("Staff handbook"), "{}", reply.body);
        assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"));
        let reply = get("path-traversal", variant, "/docs/v1/attachments?name=nosuch.txt").await;
        assert_eq!((reply.status, reply.body.as_str()), (404, r#"{"error":"no such attachment"}"#));
    }
    let climb = "/docs/v1/attachments?name=..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd";
    let reply = get("path-traversal", Variant::Fixed, climb).await;
    assert_eq!(reply.status, 400);
    assert!(!reply.body.contains("root:"), "{}", reply.body);
    if std::path::Path::new("/etc/passwd").exists() {
        let reply = get("path-traversal", Variant::Vulnerable, climb).await;
        assert_eq!(reply.status, 200);
        assert!(reply.body.contains("root:"), "{}", reply.body);
    }
    // Files no other account could read stay out of reach, even through the flaw.
    let private = "/docs/v1/attachments?name=..%2F..%2Fpath-traversal-vulnerable.openapi.json";
    assert_eq!(get("path-traversal", Variant::Vulnerable, private).await.status, 404);

    // Open redirect: a foreign host in `continue`.
    for variant in [Variant::Vulnerable, Variant::Fixed] {
        let reply = get("open-redirect", variant, "/auth/v3/session/resume?continue=%2Fhome").await;
        assert_eq!((reply.status, reply.header("location")), (303, Some("/home")));
    }
    for (value, location) in [
        ("https%3A%2F%2Fmortar-redirect.invalid%2Fx", "https://mortar-redirect.invalid/x"),
        ("//mortar-redirect.invalid/x", "//mortar-redirect.invalid/x"),
    ] {
        let path = format!("/auth/v3/session/resume?continue={value}");
        let reply = get("open-redirect", Variant::Vulnerable, &path).await;
        assert_eq!((reply.status, reply.header("location")), (303, Some(location)));
        let reply = get("open-redirect", Variant::Fixed, &path).await;
        assert_eq!((reply.status, reply.header("location")), (303, Some("/home")));
    }
    lab.shutdown();
}

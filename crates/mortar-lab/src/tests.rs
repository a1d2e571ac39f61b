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
    let authority = url.strip_prefix("https://").and_then(|rest| rest.split('/').next()).expect("https URL");
    let tcp = tokio::net::TcpStream::connect(authority).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let mut tls = connector(lab).connect(name, tcp).await.expect("TLS handshake");
    let mut raw = format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
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

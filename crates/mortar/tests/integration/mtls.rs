//! Mutual-TLS checks against the lab's mtls scenarios: each vulnerable variant
//! yields its finding (with the handshake summary as evidence), each fixed
//! variant none, the standard profile sends only safe methods; and neither a
//! resumable session nor a pooled connection lets an invalid certificate pass.

use crate::support::{assert_valid_report, mortar, scan_args, target};
use mortar_engine::tls::{ProbeResolver, probe_config};
use mortar_engine::{Engine, EngineConfig, EngineError, Origin, Request, TlsSettings};
use mortar_lab::Lab;
use mortar_model::{ClientCertificate, Identity, Secret};
use rustls::client::ResolvesClientCert;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn found(report: &Value, check: &str) -> Vec<String> {
    let mut out: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| f["component"].as_str().unwrap_or("").to_string())
        .collect();
    out.sort();
    out
}

async fn scan(t: &mortar_lab::LabTarget) -> Value {
    let out = mortar(&scan_args(t, &["--format", "json", "--checks", "mtls"]), &[]).await;
    assert_eq!(out.code, 0, "{} {}: {}", t.scenario, t.variant.as_str(), out.stderr);
    assert_valid_report(&out.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_mtls_flaw_is_found_and_each_fix_is_clean() {
    let lab = Lab::start_only(&[
        "mtls-any-cert",
        "mtls-expiry",
        "mtls-forwarded-header",
        "mtls-optional",
        "mtls-path-identity",
        "mtls-revocation",
    ])
    .await
    .unwrap();
    lab.reset_methods();
    let cases: [(&str, &str, &[&str]); 7] = [
        ("mtls-optional", "mtls.optional-client-auth", &["no-certificate"]),
        (
            "mtls-any-cert",
            "mtls.forged-client-cert",
            &["expired", "expired", "not-yet-valid", "self-signed", "unknown-ca", "wrong-eku"],
        ),
        ("mtls-any-cert", "mtls.revoked-cert-accepted", &["carol"]),
        ("mtls-expiry", "mtls.forged-client-cert", &["expired", "not-yet-valid"]),
        ("mtls-revocation", "mtls.revoked-cert-accepted", &["carol"]),
        ("mtls-forwarded-header", "mtls.proxy-header-trust", &["x-forwarded-client-cert", "x-ssl-client-s-dn"]),
        ("mtls-path-identity", "mtls.cert-identity-not-enforced", &[""]),
    ];
    for (scenario, check, components) in cases {
        let report = scan(target(&lab, scenario, "vulnerable")).await;
        let mut got = found(&report, check);
        got.dedup();
        let mut want: Vec<String> = components.iter().map(|c| c.to_string()).collect();
        want.dedup();
        assert_eq!(got, want, "{scenario}: {report:#}");
        for f in report["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check) {
            let note = f["evidence"][0]["note"].as_str().unwrap();
            assert!(note.starts_with("Offered: "), "{scenario}: handshake summary missing: {note}");
        }
        let fixed = scan(target(&lab, scenario, "fixed")).await;
        assert!(fixed["findings"].as_array().unwrap().is_empty(), "{scenario} fixed: {fixed:#}");
    }
    let methods = lab.methods_seen();
    assert!(methods.keys().all(|m| matches!(m.as_str(), "GET" | "HEAD" | "OPTIONS")), "{methods:?}");
    lab.shutdown();
}

/// The files of a lab client identity, next to the scenario's mtls.toml.
fn identity_files(t: &mortar_lab::LabTarget, name: &str) -> (Vec<u8>, Vec<u8>) {
    let config = t.scan_args.iter().skip_while(|a| *a != "--config").nth(1).unwrap();
    let dir = PathBuf::from(config).parent().unwrap().to_owned();
    let read = |ext: &str| std::fs::read(dir.join(format!("mtls-{name}.{ext}"))).unwrap();
    (read("pem"), read("key"))
}

/// One resolver (one Arc, so rustls lets its sessions resume) whose certificate
/// can be switched: how a long-lived client would present a different
/// certificate on a resumed session without noticing.
#[derive(Debug)]
struct Switch {
    choices: Vec<Arc<ProbeResolver>>,
    current: AtomicUsize,
}

impl ResolvesClientCert for Switch {
    fn resolve(&self, hints: &[&[u8]], schemes: &[rustls::SignatureScheme]) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.choices[self.current.load(Ordering::SeqCst)].resolve(hints, schemes)
    }
    fn has_certs(&self) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resumption_or_a_pooled_connection_never_makes_an_invalid_certificate_look_accepted() {
    let lab = Lab::start_only(&["mtls-revocation"]).await.unwrap();
    // Strict: mandatory client auth, lab CA only, CRL checked.
    let t = target(&lab, "mtls-revocation", "fixed");
    let ca = std::fs::read(lab.ca_cert_path()).unwrap();
    let config = EngineConfig {
        scope_hosts: vec!["127.0.0.1".into()],
        tls: TlsSettings { ca_pem: vec![ca], strict: true, only_given_roots: true },
        ..EngineConfig::default()
    };
    let engine = Engine::new(config, &[]).unwrap();
    let url = t.url.trim_start_matches("https://");
    let (host, rest) = url.split_once(':').unwrap();
    let port: u16 = rest.split('/').next().unwrap().parse().unwrap();
    let origin = Origin { https: true, host: host.into(), port };
    let (alice, alice_key) = identity_files(t, "alice");
    let (old, old_key) = identity_files(t, "old");
    let base = engine.tls_config_for(None).unwrap();

    let send = |tls: Arc<rustls::ClientConfig>| {
        let mut request = Request::get(&origin, "/api/");
        request.options.tls = Some(tls);
        request.options.no_retry = true;
        engine.send(request)
    };
    // The trap, shown: one client configuration with resumption on (the
    // default). A full handshake with alice's certificate, then the same
    // configuration switched to the expired certificate: the session resumes,
    // no certificate is sent, and the strict server answers.
    let switch = Arc::new(Switch {
        choices: vec![
            ProbeResolver::new(Some((&alice, alice_key.as_slice())), "alice").unwrap(),
            ProbeResolver::new(Some((&old, old_key.as_slice())), "old").unwrap(),
        ],
        current: AtomicUsize::new(0),
    });
    let mut shared = (*base).clone();
    shared.client_auth_cert_resolver = switch.clone();
    shared.alpn_protocols = vec![b"http/1.1".to_vec()];
    let shared = Arc::new(shared);
    assert_eq!(send(shared.clone()).await.unwrap().response.status, 200);
    switch.current.store(1, Ordering::SeqCst);
    let trap = send(shared.clone()).await.unwrap();
    assert_eq!(trap.response.status, 200, "resumed on alice's session");
    assert!(!switch.choices[1].requested(), "the expired certificate was never asked for");

    // The probe configuration derived from that same configuration (same
    // session store): resumption off, a full handshake, refused.
    let resolver = ProbeResolver::new(Some((&old, old_key.as_slice())), "old").unwrap();
    let probe = probe_config(&shared, resolver.clone());
    match send(probe).await {
        Err(EngineError::Tls(_) | EngineError::Io(_) | EngineError::ClosedWithoutResponse) => {}
        other => panic!("the expired certificate was not refused: {:?}", other.map(|e| e.response.status)),
    }
    assert!(resolver.requested(), "a full handshake asks for the certificate");

    // A pooled connection: alice's ordinary requests leave a kept-alive
    // connection in the engine's pool; a probe must not ride on it.
    let mut id = Identity::new("alice");
    id.client_cert = Some(ClientCertificate {
        cert_chain_pem: alice.clone(),
        key_pem: Secret::new(alice_key.clone()),
        source: "alice".into(),
    });
    let id = Arc::new(id);
    for _ in 0..2 {
        let request = Request::get(&origin, "/api/").identity(Some(id.clone()));
        assert_eq!(engine.send(request).await.unwrap().response.status, 200);
    }
    let resolver = ProbeResolver::new(Some((&old, old_key.as_slice())), "old").unwrap();
    let mut request = Request::get(&origin, "/api/").identity(Some(id.clone()));
    request.options.tls = Some(probe_config(&base, resolver.clone()));
    request.options.no_retry = true;
    match engine.send(request).await {
        Err(EngineError::Tls(_) | EngineError::Io(_) | EngineError::ClosedWithoutResponse) => {}
        other => panic!("the probe rode on a pooled connection: {:?}", other.map(|e| e.response.status)),
    }
    assert!(resolver.requested());
    lab.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_asks_for_a_certificate_is_inconclusive_not_guessed() {
    let lab = Lab::start_only(&["mtls-optional", "tls-early-data"]).await.unwrap();
    // A target without client auth, scanned with a certificate identity: client
    // auth could only be per path (renegotiation, post-handshake), which rustls
    // cannot drive.
    let t = target(&lab, "tls-early-data", "fixed");
    let config =
        target(&lab, "mtls-optional", "fixed").scan_args.iter().skip_while(|a| *a != "--config").nth(1).unwrap();
    let dir = PathBuf::from(config).parent().unwrap().to_owned();
    let cert = format!("alice={},{}", dir.join("mtls-alice.pem").display(), dir.join("mtls-alice.key").display());
    let extra = ["--identity-cert", cert.as_str(), "--checks", "mtls", "--format", "json"];
    let out = mortar(&scan_args(t, &extra), &[]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report = assert_valid_report(&out.stdout);
    assert!(report["findings"].as_array().unwrap().is_empty(), "{report:#}");
    let coverage = report["coverage"]["checks"].as_array().unwrap();
    let auth = coverage.iter().find(|c| c["check"] == "mtls.optional-client-auth").unwrap();
    assert_eq!(auth["status"], "inconclusive", "{auth}");
    assert!(auth["reason"].as_str().unwrap().contains("per path"), "{auth}");
    lab.shutdown();
}

//! `encryption.weak-tls`: which protocol versions and weak TLS 1.2 suites the
//! server accepts, and what a modern client negotiates (version, suite, key
//! exchange, ALPN). TLS 1.3 and 1.2 are probed with rustls; TLS 1.0/1.1 and
//! weak suites with a hand-built ClientHello (`probes::tls_hello`) whose
//! ServerHello (or alert) is all that is read.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::tls::{AnyServer, baseline_evidence};
use crate::probes::tls_hello::{self, HelloReply, LEGACY_SUITES, TLS10, TLS11, TLS12};
use mortar_engine::tls::ProbeResolver;
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;

/// How long one handshake probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "encryption.weak-tls",
        category: Category::Encryption,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "Legacy TLS version or weak cipher suite accepted",
        description: "Offers TLS 1.0 and TLS 1.1 with a hand-built ClientHello, then TLS 1.2 with one class of weak \
            suites at a time (RC4, 3DES, NULL/EXPORT/anonymous, RSA key exchange without forward secrecy, CBC), \
            reading only the ServerHello or alert; and handshakes TLS 1.3 and TLS 1.2 with rustls to record the \
            negotiated suite, key exchange group and ALPN (in coverage). Each version or suite class the server \
            chooses is a finding.",
        remediation: Remediation {
            summary: "Accept TLS 1.2 and 1.3 only, with AEAD suites and ECDHE key exchange (e.g. Mozilla's \
                \"intermediate\" profile); disable TLS 1.0/1.1, RC4, 3DES, CBC, static RSA and NULL/EXPORT suites.",
            actix_web: "rustls (`listen_rustls_0_23`) never offers any of these; with OpenSSL (`listen_openssl`) \
                call `builder.set_min_proto_version(Some(SslVersion::TLS1_2))` and set an AEAD-only cipher list.",
            axum: "Terminate TLS with rustls (axum-server `RustlsConfig` or tokio-rustls), which supports only \
                TLS 1.2/1.3 AEAD suites; at a proxy, set `ssl_protocols TLSv1.2 TLSv1.3` and an AEAD cipher list.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-326", "CWE-327", "CWE-757"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// A class of weak TLS 1.2 suites: component, severity, why, suites.
struct WeakClass {
    component: &'static str,
    severity: Severity,
    why: &'static str,
    suites: &'static [u16],
}

const WEAK_CLASSES: &[WeakClass] = &[
    WeakClass {
        component: "rc4",
        severity: Severity::High,
        why: "RC4 is broken (RFC 7465 forbids it)",
        suites: &[0x0005, 0x0004, 0xc011, 0xc007, 0x0018],
    },
    WeakClass {
        component: "3des",
        severity: Severity::Medium,
        why: "3DES has a 64-bit block (Sweet32)",
        suites: &[0x000a, 0xc012, 0xc008, 0x0016],
    },
    WeakClass {
        component: "null-export-anon",
        severity: Severity::High,
        why: "NULL, EXPORT or anonymous suites give no confidentiality or no authentication",
        suites: &[
            0x0001, 0x0002, 0x003b, 0x0003, 0x0006, 0x0008, 0x0014, 0x0017, 0x0019, 0x001b, 0x0034, 0x003a, 0xc018,
            0xc019,
        ],
    },
    WeakClass {
        component: "rsa-key-exchange",
        severity: Severity::Medium,
        why: "static RSA key exchange has no forward secrecy",
        suites: &[0x002f, 0x0035, 0x003c, 0x003d, 0x009c, 0x009d],
    },
    WeakClass {
        component: "cbc",
        severity: Severity::Low,
        why: "CBC suites are MAC-then-encrypt and have a history of padding-oracle attacks",
        suites: &[0xc009, 0xc00a, 0xc013, 0xc014, 0xc023, 0xc024, 0xc027, 0xc028, 0x0033, 0x0039, 0x0067, 0x006b],
    },
];

/// The host name to send as SNI (none for an IP address).
fn sni(host: &str) -> Option<&str> {
    (host.parse::<std::net::IpAddr>().is_err() && !host.contains(':')).then_some(host)
}

/// Handshakes with rustls restricted to one version; a summary of what was negotiated.
async fn rustls_probe(ctx: &ScanContext, version: &'static rustls::SupportedProtocolVersion) -> Result<String, String> {
    let identity = ctx.identities.iter().find(|i| i.client_cert.is_some() && !i.revoked).cloned();
    let cert = identity
        .as_ref()
        .and_then(|i| i.client_cert.as_ref())
        .map(|c| (c.cert_chain_pem.as_slice(), c.key_pem.expose()));
    let resolver = ProbeResolver::new(cert, "identity certificate").map_err(|e| e.chain())?;
    // One version only, resumption off, a client certificate only if asked.
    let mut config = rustls::ClientConfig::builder_with_provider(mortar_engine::tls::provider())
        .with_protocol_versions(&[version])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer))
        .with_client_cert_resolver(resolver.clone());
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = ServerName::try_from(ctx.origin.host.clone()).map_err(|e| e.to_string())?;
    let connector = handshake(Arc::new(config));
    let attempt = async {
        let tcp = tokio::net::TcpStream::connect((ctx.origin.host.as_str(), ctx.origin.port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        connector(name, tcp).await
    };
    let result =
        tokio::time::timeout(PROBE_TIMEOUT, attempt).await.map_err(|_| "no handshake within 5 s".to_string())?;
    match result {
        Ok(summary) => Ok(summary),
        // The server went as far as asking for a client certificate: the version was accepted.
        Err(_) if resolver.requested() => Ok("negotiated (then client authentication failed)".into()),
        Err(e) => Err(e),
    }
}

type ConnectFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send>>;

/// Runs a rustls client handshake on a blocking thread and summarises it.
fn handshake(
    config: Arc<rustls::ClientConfig>,
) -> impl Fn(ServerName<'static>, tokio::net::TcpStream) -> ConnectFuture {
    move |name, tcp| {
        let config = config.clone();
        Box::pin(async move {
            let mut conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
            let mut tcp = tcp.into_std().map_err(|e| e.to_string())?;
            tokio::task::spawn_blocking(move || {
                tcp.set_nonblocking(false).map_err(|e| e.to_string())?;
                tcp.set_read_timeout(Some(PROBE_TIMEOUT)).map_err(|e| e.to_string())?;
                while conn.is_handshaking() {
                    conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
                }
                Ok(format!(
                    "{} {} key exchange {} ALPN {}",
                    conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default(),
                    conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default(),
                    conn.negotiated_key_exchange_group()
                        .map(|g| format!("{:?}", g.name()))
                        .unwrap_or_else(|| "-".into()),
                    conn.alpn_protocol()
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .unwrap_or_else(|| "none".into())
                ))
            })
            .await
            .map_err(|e| e.to_string())?
        })
    }
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !ctx.origin.https {
        return CheckVerdict::Skipped("the target is plain HTTP: no TLS".into());
    }
    let host = ctx.origin.host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = ctx.origin.port;
    let mut facts = Vec::new();
    for (label, version) in [("TLS 1.3", &rustls::version::TLS13), ("TLS 1.2", &rustls::version::TLS12)] {
        match rustls_probe(&ctx, version).await {
            Ok(summary) => facts.push(format!("{label}: {summary}")),
            Err(e) => facts.push(format!("{label}: refused ({e})")),
        }
    }
    // Findings carry the base path's ordinary exchange, annotated with the handshake probe.
    let baseline = baseline_evidence(&ctx, CHECK.info.id).await;
    let mut found = 0;
    let mut errors = Vec::new();
    for (version, component, severity) in [(TLS10, "tls1.0", Severity::Medium), (TLS11, "tls1.1", Severity::Medium)] {
        match tls_hello::probe(&host, port, version, LEGACY_SUITES, sni(&host), PROBE_TIMEOUT).await {
            Ok(HelloReply::Accepted { version: chosen, suite }) if chosen == version => {
                found += 1;
                facts.push(format!("{}: accepted (suite 0x{suite:04x})", tls_hello::version_name(version)));
                observe(
                    &ctx,
                    &reporter,
                    baseline.as_ref(),
                    component,
                    severity,
                    format!(
                        "The server accepts {} (it answered a {} ClientHello with a ServerHello choosing suite 0x{suite:04x}). \
                     TLS 1.0 and 1.1 are deprecated (RFC 8996): no AEAD suites, SHA-1 in the handshake.",
                        tls_hello::version_name(version),
                        tls_hello::version_name(version)
                    ),
                );
            }
            Ok(HelloReply::Accepted { version: chosen, .. }) => facts.push(format!(
                "{}: answered with {}",
                tls_hello::version_name(version),
                tls_hello::version_name(chosen)
            )),
            Ok(HelloReply::Refused(how)) => {
                facts.push(format!("{}: refused ({how})", tls_hello::version_name(version)))
            }
            Err(e) => errors.push(e),
        }
    }
    for class in WEAK_CLASSES {
        match tls_hello::probe(&host, port, TLS12, class.suites, sni(&host), PROBE_TIMEOUT).await {
            Ok(HelloReply::Accepted { version: TLS12, suite }) if class.suites.contains(&suite) => {
                found += 1;
                observe(
                    &ctx,
                    &reporter,
                    baseline.as_ref(),
                    class.component,
                    class.severity,
                    format!(
                        "Offered only {} suites in TLS 1.2, the server chose suite 0x{suite:04x}: {}.",
                        class.component, class.why
                    ),
                );
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if found == 0 && !errors.is_empty() && facts.iter().all(|f| f.contains("refused")) {
        return CheckVerdict::Inconclusive(format!("handshake probes failed: {}", errors[0]));
    }
    CheckVerdict::Ran(format!("{}; {found} weakness(es)", facts.join("; ")))
}

fn observe(
    ctx: &ScanContext,
    reporter: &Reporter,
    baseline: Option<&mortar_model::Evidence>,
    component: &str,
    severity: Severity,
    description: String,
) {
    let url = ctx.origin.url(&ctx.target.base_path);
    let evidence = baseline
        .map(|e| mortar_model::Evidence { note: format!("Handshake probe: {description}"), ..e.clone() })
        .into_iter()
        .collect();
    reporter.observe(Observation {
        endpoint: None,
        component: Some(component.to_string()),
        severity: Some(severity),
        confidence: Confidence::Confirmed,
        title: Some(match component {
            "tls1.0" => "TLS 1.0 accepted".to_string(),
            "tls1.1" => "TLS 1.1 accepted".to_string(),
            other => format!("Weak TLS 1.2 cipher suites accepted ({other})"),
        }),
        description: format!("{description} ({}:{})", ctx.origin.host, ctx.origin.port),
        evidence,
        reproduce: format!(
            "curl -sk -o /dev/null -w '%{{http_version}}\\n' {} {url}",
            match component {
                "tls1.0" => "--tlsv1.0 --tls-max 1.0 --ciphers 'DEFAULT:@SECLEVEL=0'".to_string(),
                "tls1.1" => "--tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0'".to_string(),
                other => format!("--tlsv1.2 --tls-max 1.2 --ciphers '{}:@SECLEVEL=0'", openssl_class(other)),
            }
        ),
    });
}

fn openssl_class(component: &str) -> &'static str {
    match component {
        "rc4" => "RC4",
        "3des" => "3DES",
        "null-export-anon" => "NULL:EXPORT:aNULL",
        "rsa-key-exchange" => "kRSA",
        _ => "CBC",
    }
}

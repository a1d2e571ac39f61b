//! `encryption.early-data`: a first TLS 1.3 handshake takes a session ticket,
//! a second resumes with early data (an idempotent HEAD of the base path) and
//! reads whether the server accepted it.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::tls::{AnyServer, baseline_evidence};
use mortar_engine::tls::ProbeResolver;
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "encryption.early-data",
        category: Category::Encryption,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "TLS 1.3 early data (0-RTT) accepted",
        description: "Handshakes TLS 1.3 once to obtain a session ticket, then resumes with early data enabled and \
            sends an idempotent HEAD of the base path as 0-RTT data. When the ticket allows early data and the \
            server accepts it, any request an attacker captures can be replayed by them without the client, \
            outside the TLS replay protections. A host-level finding.",
        remediation: Remediation {
            summary: "Turn 0-RTT off (max_early_data_size = 0) unless every endpoint reachable through it is \
                idempotent and replay-safe, and reject early data for state-changing requests (HTTP 425, RFC 8470).",
            actix_web: "Leave `ServerConfig::max_early_data_size` at 0 (the rustls default) in the config passed to \
                `listen_rustls_0_23`.",
            axum: "Leave `ServerConfig::max_early_data_size` at 0 in the acceptor's rustls config; at a proxy, \
                `ssl_early_data off`.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-294"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !ctx.origin.https {
        return CheckVerdict::Skipped("the target is plain HTTP: no TLS".into());
    }
    let identity = ctx.identities.iter().find(|i| i.client_cert.is_some() && !i.revoked).cloned();
    let cert = identity
        .as_ref()
        .and_then(|i| i.client_cert.as_ref())
        .map(|c| (c.cert_chain_pem.clone(), c.key_pem.expose().to_vec()));
    let resolver =
        match ProbeResolver::new(cert.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())), "identity certificate") {
            Ok(r) => r,
            Err(e) => return CheckVerdict::Inconclusive(e.chain()),
        };
    let mut config = rustls::ClientConfig::builder_with_provider(mortar_engine::tls::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map(|b| {
            b.dangerous().with_custom_certificate_verifier(Arc::new(AnyServer)).with_client_cert_resolver(resolver)
        })
        .expect("ring supports TLS 1.3");
    config.enable_early_data = true;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // A fresh session store of its own: the ticket comes from this check's first handshake only.
    config.resumption = rustls::client::Resumption::in_memory_sessions(4);
    let config = Arc::new(config);
    let Ok(name) = ServerName::try_from(ctx.origin.host.clone()) else {
        return CheckVerdict::Inconclusive("invalid server name".into());
    };
    let request = format!(
        "HEAD {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: mortar\r\nConnection: close\r\n\r\n",
        ctx.target.base_path,
        ctx.origin.authority()
    )
    .into_bytes();
    let (host, port) = (ctx.origin.host.trim_start_matches('[').trim_end_matches(']').to_string(), ctx.origin.port);
    let outcome =
        tokio::task::spawn_blocking(move || early_data_probe(config, name.to_owned(), &host, port, &request)).await;
    let (offered, accepted) = match outcome {
        Ok(Ok(pair)) => pair,
        Ok(Err(e)) => return CheckVerdict::Inconclusive(format!("0-RTT probe failed: {e}")),
        Err(e) => return CheckVerdict::Inconclusive(format!("0-RTT probe failed: {e}")),
    };
    if accepted {
        reporter.observe(Observation {
            endpoint: None,
            component: None,
            severity: None,
            confidence: Confidence::Confirmed,
            title: None,
            description: format!(
                "{}:{} offers TLS 1.3 early data in its session tickets and accepted a HEAD {} sent as 0-RTT data on \
                 resumption. Early data can be replayed by anyone who captured it.",
                ctx.origin.host, ctx.origin.port, ctx.target.base_path
            ),
            evidence: baseline_evidence(&ctx, CHECK.info.id)
                .await
                .map(|e| mortar_model::Evidence {
                    note: "0-RTT: the session ticket allowed early data and the server accepted the HEAD sent as \
                           early data on resumption."
                        .into(),
                    ..e
                })
                .into_iter()
                .collect(),
            reproduce: format!(
                "curl -sk --tlsv1.3 --tls-earlydata -o /dev/null {url} {url}",
                url = ctx.origin.url(&ctx.target.base_path)
            ),
        });
    }
    CheckVerdict::Ran(format!("0-RTT offered: {}; accepted: {}", yes(offered), yes(accepted)))
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Two handshakes: the first for a ticket, the second resuming with `request` as early data.
fn early_data_probe(
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
    host: &str,
    port: u16,
    request: &[u8],
) -> Result<(bool, bool), String> {
    use std::io::{Read, Write};
    let connect = || -> Result<std::net::TcpStream, String> {
        let tcp = std::net::TcpStream::connect((host, port)).map_err(|e| format!("cannot connect: {e}"))?;
        tcp.set_read_timeout(Some(Duration::from_secs(3))).map_err(|e| e.to_string())?;
        tcp.set_write_timeout(Some(Duration::from_secs(3))).map_err(|e| e.to_string())?;
        Ok(tcp)
    };
    let mut tcp = connect()?;
    let mut first = rustls::ClientConnection::new(config.clone(), name.clone()).map_err(|e| e.to_string())?;
    while first.is_handshaking() {
        first.complete_io(&mut tcp).map_err(|e| format!("handshake: {e}"))?;
    }
    first.writer().write_all(request).map_err(|e| e.to_string())?;
    // Read until the answer (the tickets arrive before it) or the timeout.
    let mut buf = [0u8; 4096];
    for _ in 0..8 {
        match first.complete_io(&mut tcp) {
            // The first call only writes the request: stop on nothing moved or an error.
            Ok((0, 0)) | Err(_) => break,
            Ok(_) => {}
        }
        if matches!(first.reader().read(&mut buf), Ok(n) if n > 0) {
            break;
        }
    }
    drop(tcp);
    let mut tcp = connect()?;
    let mut second = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let offered = match second.early_data() {
        Some(mut early) => {
            let _ = early.write(request);
            true
        }
        None => false,
    };
    while second.is_handshaking() {
        second.complete_io(&mut tcp).map_err(|e| format!("resumed handshake: {e}"))?;
    }
    Ok((offered, second.is_early_data_accepted()))
}

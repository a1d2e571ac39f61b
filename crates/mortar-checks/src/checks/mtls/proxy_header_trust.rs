//! Proxy header trust: services behind a TLS-terminating proxy often take the
//! client's identity from headers the proxy sets (`X-Forwarded-Client-Cert`,
//! `X-SSL-Client-S-DN`, `Client-Cert`, ...). A client that sends them itself must
//! not be believed: a changed answer is a finding.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::mtls::{Probe, cert_identities, own_cert, probe, probe_ops};
use crate::probes::x509::leaf_facts;
use base64::Engine as _;
use mortar_engine::Request;
use mortar_model::{
    Category, CheckInfo, Confidence, Identity, Observation, Profile, References, Remediation, Severity,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A certificate chain and key, PEM.
type PemPair<'a> = (&'a [u8], &'a [u8]);

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "mtls.proxy-header-trust",
        category: Category::Mtls,
        severity: Severity::Critical,
        profile: Profile::Standard,
        title: "Client identity taken from a forwarded header",
        description: "Sends safe operations with one client-certificate header of the kind TLS-terminating proxies \
            set (X-SSL-Client-S-DN, X-SSL-Client-DN, X-Forwarded-Client-Cert, Client-Cert (RFC 9440), \
            X-SSL-Client-Cert, X-Forwarded-Tls-Client-Cert(-Info), X-ARR-ClientCert, X-Client-Cert, each with \
            X-SSL-Client-Verify: SUCCESS) carrying another identity's certificate or subject, on a connection with \
            the first identity's own certificate or none. When the answer becomes the other identity's (or a \
            refused client is let in), the application believes a header any client can send.",
        remediation: Remediation {
            summary: "Take the client identity from the verified TLS connection; if a proxy terminates TLS, have it \
                overwrite (never append to) these headers, accept them only from the proxy's address or over an \
                authenticated hop, and strip them at the edge.",
            actix_web: "Read the peer certificate captured in `HttpServer::on_connect` (the rustls connection's \
                `peer_certificates()`) into request extensions; drop `X-SSL-Client-*`/`X-Forwarded-Client-Cert`/\
                `Client-Cert` headers in a `wrap_fn` middleware unless the peer address is the proxy.",
            axum: "Insert the peer certificate from the tokio-rustls stream into each request's extensions in your \
                accept loop and use only that; remove the forwarded certificate headers in a middleware layer \
                unless the connection comes from the proxy.",
        },
        references: References { owasp_api: &["API2:2023"], cwe: &["CWE-290", "CWE-348"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Headers claiming the client certificate `der` with subject `subject`.
fn claims(subject: &str, der: &[u8]) -> Vec<(&'static str, String)> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let hash: String = Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n");
    let pem_escaped: String =
        pem.replace('\n', "%0A").replace(' ', "%20").replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
    let subject_quoted = subject.replace('"', "\\\"");
    vec![
        ("X-SSL-Client-S-DN", subject.to_string()),
        ("X-SSL-Client-DN", subject.to_string()),
        ("X-Forwarded-Client-Cert", format!("Hash={hash};Subject=\"{subject_quoted}\";URI=")),
        ("Client-Cert", format!(":{b64}:")),
        ("X-SSL-Client-Cert", pem_escaped),
        ("X-Forwarded-Tls-Client-Cert", b64.clone()),
        ("X-Forwarded-Tls-Client-Cert-Info", format!("Subject=\"{}\"", subject_quoted.replace(' ', "%20"))),
        ("X-ARR-ClientCert", b64.clone()),
        ("X-Client-Cert", b64),
    ]
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let identities = cert_identities(&ctx);
    let Some(low) = identities.first().cloned() else {
        return CheckVerdict::Skipped("no identity with a client certificate (--identity-cert) to claim".into());
    };
    // The claimed identity: another one when there is, else the same one claimed without a certificate.
    let victim = identities.get(1).cloned();
    let claimed = victim.clone().unwrap_or_else(|| low.clone());
    let Some(facts) = own_cert(&claimed).and_then(|(chain, _)| leaf_facts(chain)) else {
        return CheckVerdict::Inconclusive(format!("identity `{}`'s certificate cannot be parsed", claimed.name));
    };
    let headers = claims(&facts.subject, &facts.der);
    let mut sent_ops = 0;
    let mut changed = 0;
    for op in probe_ops(&ctx) {
        // Baselines: what the connection is without headers, and what the claimed identity really gets.
        let (cert, who, offered): (Option<PemPair>, Option<Arc<Identity>>, String) = match &victim {
            Some(_) => (own_cert(&low), Some(low.clone()), format!("identity `{}`'s own certificate", low.name)),
            None => (None, None, "no certificate".to_string()),
        };
        let Ok((base, _)) = probe(&ctx, id, &op, &offered, cert, who.clone(), &[]).await else { continue };
        let Ok((truth, _)) = probe(
            &ctx,
            id,
            &op,
            "the claimed identity's own certificate",
            own_cert(&claimed),
            Some(claimed.clone()),
            &[],
        )
        .await
        else {
            continue;
        };
        let Some(truth_ex) = truth.ok().cloned() else { continue };
        // Only an operation whose answer depends on who asks can show a changed identity.
        let distinguishes = match base.ok() {
            Some(b) => b.response.body != truth_ex.response.body,
            None => base.refused(),
        };
        if !distinguishes {
            continue;
        }
        sent_ops += 1;
        for (name, value) in &headers {
            let extra = vec![
                (name.to_string(), value.clone().into_bytes()),
                ("X-SSL-Client-Verify".to_string(), b"SUCCESS".to_vec()),
            ];
            let offered_h = format!("{offered} plus {name} claiming `{}`", facts.subject);
            let Ok((p, request)) = probe(&ctx, id, &op, &offered_h, cert, who.clone(), &extra).await else { continue };
            if p.ok().is_some_and(|ex| {
                ex.response.body == truth_ex.response.body && ex.response.status == truth_ex.response.status
            }) {
                changed += 1;
                observe(&ctx, &reporter, &op.endpoint, name, &facts.subject, &base, &p, &request);
            }
        }
        if changed > 0 {
            break;
        }
    }
    if sent_ops == 0 {
        return CheckVerdict::Inconclusive(
            "no probed operation answers differently per identity (or refuses a client without a certificate)".into(),
        );
    }
    CheckVerdict::Ran(format!("{} forwarded-certificate header(s) tried: {changed} changed the answer", headers.len()))
}

#[allow(clippy::too_many_arguments)]
fn observe(
    ctx: &ScanContext,
    reporter: &Reporter,
    endpoint: &mortar_model::Endpoint,
    header: &str,
    subject: &str,
    base: &Probe,
    probe: &Probe,
    request: &Request,
) {
    let before = match base.ok() {
        Some(ex) => format!("HTTP {} with the connection's own identity", ex.response.status),
        None => "a refusal".to_string(),
    };
    reporter.observe(Observation {
        endpoint: Some(endpoint.clone()),
        component: Some(header.to_ascii_lowercase()),
        severity: None,
        confidence: Confidence::Confirmed,
        title: Some(format!("Client identity taken from the {header} header")),
        description: format!(
            "With {header} claiming `{subject}` (and X-SSL-Client-Verify: SUCCESS) sent by the client itself, {} {} \
             answered exactly as it answers that identity's own certificate, instead of {before}. Anyone can claim \
             any certificate subject. {}",
            endpoint.method,
            endpoint.path,
            probe.summary()
        ),
        evidence: vec![probe.evidence(ctx, request)],
        reproduce: ctx.curl(request),
    });
}

//! Whether the server asks for a client certificate, whether it is optional or
//! required, which CA names it advertises, and which operations still answer
//! without one. One client configuration per probe, resumption off.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::mtls::{Outcome, cert_identities, probe, probe_ops};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "mtls.optional-client-auth",
        category: Category::Mtls,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Client certificate optional: operations answer without one",
        description: "Handshakes with no client certificate (fresh connection, no session resumption) and sends each \
            probed safe operation. When the server asks for a certificate (CertificateRequest) yet completes the \
            handshake without one and the application answers 2xx, client authentication is optional and the \
            operation is reachable without it. With TLS 1.3 the request is written and read before concluding: an \
            alert, reset, EOF or a \"certificate required\" page mean rejection. A server that never asks during the \
            handshake (per-path renegotiation or post-handshake auth) is reported inconclusive.",
        remediation: Remediation {
            summary: "Make client authentication mandatory at the TLS layer for every API listener, or, when some \
                routes must stay public, refuse requests without a verified certificate on every protected route.",
            actix_web: "Build the `rustls::ServerConfig` with `WebPkiClientVerifier::builder(roots).build()` (not \
                `.allow_unauthenticated()`) and pass it to `HttpServer::listen_rustls_0_23`.",
            axum: "Terminate TLS with a `rustls::ServerConfig` whose client verifier is \
                `WebPkiClientVerifier::builder(roots).build()`; if client auth must stay optional, reject requests \
                whose connection carries no peer certificate in a middleware applied to every protected route.",
        },
        references: References { owasp_api: &["API2:2023"], cwe: &["CWE-295", "CWE-306"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    if !ctx.origin.https {
        return CheckVerdict::Skipped("the target is plain HTTP: no TLS client authentication".into());
    }
    let ops = probe_ops(&ctx);
    if ops.is_empty() {
        return CheckVerdict::Skipped("no operation reachable with a safe method".into());
    }
    let mut requested = false;
    let mut completed = false;
    let mut ca_names: Vec<String> = Vec::new();
    let mut answered = 0usize;
    let mut errors = Vec::new();
    for op in &ops {
        let (none, request) = match probe(&ctx, id, op, "no certificate", None, None, &[]).await {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        requested |= none.requested;
        for name in &none.ca_names {
            if !ca_names.contains(name) {
                ca_names.push(name.clone());
            }
        }
        if let Outcome::Answered(_) = none.outcome {
            completed = true;
        }
        if none.requested && none.ok().is_some() {
            answered += 1;
            reporter.observe(Observation {
                endpoint: Some(op.endpoint.clone()),
                component: Some("no-certificate".into()),
                severity: None,
                confidence: Confidence::Firm,
                title: None,
                description: format!(
                    "The server asks for a client certificate but completes the handshake without one, and {} {} \
                     answered HTTP {} to a client that presented none. Client authentication is optional here, so \
                     anyone who can connect reaches this operation.",
                    op.endpoint.method,
                    op.endpoint.path,
                    none.ok().map(|e| e.response.status).unwrap_or_default()
                ),
                evidence: vec![none.evidence(&ctx, &request)],
                reproduce: ctx.curl(&request),
            });
        }
    }
    if !requested && !completed {
        return CheckVerdict::Inconclusive(format!(
            "no handshake without a certificate completed{}",
            errors.first().map(|e| format!(": {e}")).unwrap_or_default()
        ));
    }
    let names = if ca_names.is_empty() { "none".to_string() } else { ca_names.join("; ") };
    if !requested {
        if !cert_identities(&ctx).is_empty() {
            return CheckVerdict::Inconclusive(
                "the server sent no CertificateRequest during the handshake although identities carry client \
                 certificates: client auth per path (renegotiation or post-handshake) cannot be probed, so it is \
                 reported inconclusive rather than guessed"
                    .into(),
            );
        }
        return CheckVerdict::Ran("the server does not ask for a client certificate".into());
    }
    let mode = if completed { "optional" } else { "required" };
    CheckVerdict::Ran(format!(
        "client certificate {mode}; CA names advertised: {names}; {answered} of {} probed operation(s) answered \
         without a certificate",
        ops.len()
    ))
}

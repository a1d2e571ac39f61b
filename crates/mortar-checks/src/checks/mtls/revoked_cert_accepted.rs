//! Identities the user marked `revoked = true` (their certificate is on the
//! CRL): the application must refuse them like a client without a certificate.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::mtls::{cert_identities, guarded_op, own_cert, probe, same_answer};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "mtls.revoked-cert-accepted",
        category: Category::Mtls,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Revoked client certificate accepted",
        description: "Presents the certificate of each identity marked `revoked = true` in mortar.toml (fresh \
            connection, own client configuration, resumption off) on an operation that answers a valid identity's \
            certificate and refuses a client without one. An answer like the valid certificate's means the server \
            does not check revocation (CRL or OCSP). An identity the pre-flight already saw refused is not \
            probed again.",
        remediation: Remediation {
            summary: "Check revocation for client certificates: load your CA's CRLs into the verifier and refresh \
                them before they expire (or staple/query OCSP), and fail closed when the status is unknown.",
            actix_web: "`WebPkiClientVerifier::builder(roots).with_crls(crls).build()` in the `ServerConfig` given \
                to `HttpServer::listen_rustls_0_23`; rebuild the config when the CRL is re-published.",
            axum: "`WebPkiClientVerifier::builder(roots).with_crls(crls).build()` in the acceptor's \
                `rustls::ServerConfig`, swapped atomically (e.g. `ArcSwap`) when the CRL is refreshed.",
        },
        references: References { owasp_api: &["API2:2023"], cwe: &["CWE-299"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    if !ctx.origin.https {
        return CheckVerdict::Skipped("the target is plain HTTP: no TLS client authentication".into());
    }
    let revoked: Vec<_> = ctx.identities.iter().filter(|i| i.revoked && i.client_cert.is_some()).cloned().collect();
    if revoked.is_empty() {
        return CheckVerdict::Skipped(
            "no identity marked `revoked = true` with a client certificate was accepted by the pre-flight".into(),
        );
    }
    let Some(valid) = cert_identities(&ctx).first().cloned() else {
        return CheckVerdict::Skipped("no valid (not revoked) identity with a client certificate to compare".into());
    };
    let guarded = match guarded_op(&ctx, id, &valid).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            return CheckVerdict::Inconclusive(format!(
                "no probed operation answered identity `{}`'s certificate and refused a client without one",
                valid.name
            ));
        }
        Err(e) => return CheckVerdict::Inconclusive(format!("probing failed: {e}")),
    };
    let Some(valid_ex) = guarded.valid.0.ok().cloned() else {
        return CheckVerdict::Inconclusive("the valid certificate's answer vanished".into());
    };
    let mut accepted = 0;
    for identity in &revoked {
        let offered = format!("identity `{}`'s certificate, marked revoked", identity.name);
        let (p, request) =
            match probe(&ctx, id, &guarded.op, &offered, own_cert(identity), Some(identity.clone()), &[]).await {
                Ok(p) => p,
                Err(e) => return CheckVerdict::Inconclusive(format!("probing failed: {e}")),
            };
        if p.ok().is_some_and(|ex| same_answer(ex, &valid_ex)) {
            accepted += 1;
            reporter.observe(Observation {
                endpoint: Some(guarded.op.endpoint.clone()),
                component: Some(identity.name.clone()),
                severity: None,
                confidence: Confidence::Confirmed,
                title: None,
                description: format!(
                    "Identity `{}` is marked revoked, yet {} {} answered its certificate HTTP {} like identity \
                     `{}`'s valid one: the server does not check revocation. {}",
                    identity.name,
                    guarded.op.endpoint.method,
                    guarded.op.endpoint.path,
                    valid_ex.response.status,
                    valid.name,
                    p.summary()
                ),
                evidence: vec![p.evidence(&ctx, &request), guarded.none.0.evidence(&ctx, &guarded.none.1)],
                reproduce: ctx.curl(&request),
            });
        }
    }
    CheckVerdict::Ran(format!("{} revoked identity certificate(s) presented: {accepted} accepted", revoked.len()))
}

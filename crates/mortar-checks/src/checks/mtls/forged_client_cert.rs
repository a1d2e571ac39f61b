//! Client certificates forged on the fly (self-signed, unknown CA copying the
//! advertised CA's name, expired, not yet valid, wrong extended key usage) and
//! the user's own certificates outside their validity: each one the application
//! answers like a valid certificate is a finding naming what the server skipped.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::mtls::{Forgery, Probe, cert_identities, forge, guarded_op, own_cert, probe, same_answer};
use crate::probes::x509::{leaf_facts, now_unix};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "mtls.forged-client-cert",
        category: Category::Mtls,
        severity: Severity::Critical,
        profile: Profile::Standard,
        title: "Forged client certificate accepted",
        description: "Finds an operation that answers an identity's own client certificate and refuses a client \
            without one, then presents certificates made on the fly with that identity's subject: self-signed, \
            issued by an unknown CA that copies the advertised CA's name, expired, not yet valid, and allowed only \
            for server authentication; and any identity certificate the user gave that is outside its validity. \
            Each probe uses its own client configuration with session resumption off on a fresh connection. A \
            certificate is accepted only when the application answers it like the valid one; each acceptance names \
            the verification step the server skipped and carries the handshake summary.",
        remediation: Remediation {
            summary: "Verify client certificates fully: chain to your own client CA only (signature, not name), \
                validity period, extended key usage clientAuth, and revocation; never install a verifier that \
                accepts any certificate.",
            actix_web: "Use `rustls::server::WebPkiClientVerifier::builder(Arc::new(roots_with_only_your_client_ca))\
                .with_crls(crls).build()` in the `ServerConfig` given to `HttpServer::listen_rustls_0_23`; remove \
                custom `ClientCertVerifier` implementations that return `ClientCertVerified::assertion()` \
                unconditionally or ignore `CertificateError::Expired`.",
            axum: "Same verifier in the `rustls::ServerConfig` of the TLS acceptor (tokio-rustls or axum-server): \
                `WebPkiClientVerifier::builder(roots).with_crls(crls).build()`, roots holding only your client CA.",
        },
        references: References { owasp_api: &["API2:2023"], cwe: &["CWE-295", "CWE-296", "CWE-298"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    if !ctx.origin.https {
        return CheckVerdict::Skipped("the target is plain HTTP: no TLS client authentication".into());
    }
    let identities = cert_identities(&ctx);
    let Some(identity) = identities.first().cloned() else {
        return CheckVerdict::Skipped("no identity with a client certificate (--identity-cert)".into());
    };
    let guarded = match guarded_op(&ctx, id, &identity).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            return CheckVerdict::Inconclusive(format!(
                "no probed operation answered identity `{}`'s certificate and refused a client without one",
                identity.name
            ));
        }
        Err(e) => return CheckVerdict::Inconclusive(format!("probing failed: {e}")),
    };
    let Some(facts) = own_cert(&identity).and_then(|(chain, _)| leaf_facts(chain)) else {
        return CheckVerdict::Inconclusive(format!("identity `{}`'s certificate cannot be parsed", identity.name));
    };
    let ca_name = guarded
        .valid
        .0
        .ca_names_der
        .iter()
        .find(|n| **n == facts.issuer_der)
        .or(guarded.valid.0.ca_names_der.first())
        .cloned()
        .unwrap_or_else(|| facts.issuer_der.clone());
    let Some(valid_ex) = guarded.valid.0.ok().cloned() else {
        return CheckVerdict::Inconclusive("the valid certificate's answer vanished".into());
    };
    let mut accepted = 0usize;
    let mut probed = 0usize;
    let report = |kind: &str, skipped: &str, probe: &Probe, request: &mortar_engine::Request| {
        reporter.observe(Observation {
            endpoint: Some(guarded.op.endpoint.clone()),
            component: Some(kind.to_string()),
            severity: None,
            confidence: Confidence::Confirmed,
            title: Some(format!("Forged client certificate accepted ({kind})")),
            description: format!(
                "The server {skipped}. {} {} answered it HTTP {} like identity `{}`'s valid certificate, while a \
                 client without a certificate was refused. {}",
                guarded.op.endpoint.method,
                guarded.op.endpoint.path,
                probe.ok().map(|e| e.response.status).unwrap_or_default(),
                identity.name,
                probe.summary()
            ),
            evidence: vec![
                probe.evidence(&ctx, request),
                guarded.valid.0.evidence(&ctx, &guarded.valid.1),
                guarded.none.0.evidence(&ctx, &guarded.none.1),
            ],
            // The probe's own request: curl presents the identity's certificate here; swap in a
            // certificate made like the one described to reproduce the acceptance.
            reproduce: ctx.curl(request),
        });
    };
    for kind in Forgery::ALL {
        let (chain, key) = match forge(kind, &facts.subject_der, &ca_name) {
            Ok(pair) => pair,
            Err(e) => return CheckVerdict::Inconclusive(e),
        };
        let offered = format!("a {} certificate forged for `{}`", kind.component(), facts.subject);
        let (p, request) = match probe(
            &ctx,
            id,
            &guarded.op,
            &offered,
            Some((chain.as_bytes(), key.as_bytes())),
            Some(identity.clone()),
            &[],
        )
        .await
        {
            Ok(p) => p,
            Err(e) => return CheckVerdict::Inconclusive(format!("probing failed: {e}")),
        };
        probed += 1;
        if p.ok().is_some_and(|ex| same_answer(ex, &valid_ex)) {
            accepted += 1;
            report(kind.component(), kind.skipped(), &p, &request);
        }
    }
    // The user's own certificates outside their validity: issued by the real CA,
    // so only the validity check stands between them and the API.
    let now = now_unix();
    for other in ctx.identities.iter().filter(|i| !i.revoked) {
        let Some((chain, key)) = own_cert(other) else { continue };
        let Some(f) = leaf_facts(chain) else { continue };
        let (component, skipped) = if f.not_after < now {
            ("expired", Forgery::Expired.skipped())
        } else if f.not_before > now {
            ("not-yet-valid", Forgery::NotYetValid.skipped())
        } else {
            continue;
        };
        let offered = format!("identity `{}`'s own certificate, outside its validity", other.name);
        let Ok((p, request)) =
            probe(&ctx, id, &guarded.op, &offered, Some((chain, key)), Some(other.clone()), &[]).await
        else {
            continue;
        };
        probed += 1;
        if p.ok().is_some_and(|ex| same_answer(ex, &valid_ex)) {
            accepted += 1;
            report(component, skipped, &p, &request);
        }
    }
    CheckVerdict::Ran(format!(
        "{probed} forged or out-of-validity certificate(s) presented on {} {}: {accepted} accepted",
        guarded.op.endpoint.method, guarded.op.endpoint.path
    ))
}

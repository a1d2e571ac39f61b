//! Shared machinery of the `mtls.*` checks: one client configuration per probe
//! (session resumption off, never a pooled connection, so a resumed session can
//! never make a forged certificate look accepted), the outcome of a probe as
//! the application saw it, and client certificates forged on the fly.

use super::x509::{dn_from_der, dn_text};
use crate::context::{ScanContext, ScanOperation};
use mortar_engine::tls::{ProbeResolver, probe_config};
use mortar_engine::{EngineError, Exchange, HttpVersion, Request, SentRequest};
use mortar_model::{Evidence, Identity};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Most operations a client-auth check probes: the question is usually host-wide.
pub(crate) const MAX_OPS: usize = 4;

/// How the server treated one probe.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// The TLS layer refused it: handshake failure, or with TLS 1.3 an alert,
    /// reset or EOF on the first read, or a "certificate required" page (400, 495, 496).
    Rejected(String),
    /// The application answered (any status).
    Answered(Arc<Exchange>),
}

/// One probe: what was offered and what came back.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    /// What the client presented, in words.
    pub offered: String,
    /// What came back.
    pub outcome: Outcome,
    /// Whether the server sent a CertificateRequest.
    pub requested: bool,
    /// CA names the server advertised in it.
    pub ca_names: Vec<String>,
    /// The same names, DER.
    pub ca_names_der: Vec<Vec<u8>>,
}

impl Probe {
    /// The exchange when the application answered 2xx.
    pub(crate) fn ok(&self) -> Option<&Arc<Exchange>> {
        match &self.outcome {
            Outcome::Answered(ex) if (200..300).contains(&ex.response.status) => Some(ex),
            _ => None,
        }
    }

    /// Whether the server (TLS layer or application) refused: rejected, 401 or 403.
    pub(crate) fn refused(&self) -> bool {
        match &self.outcome {
            Outcome::Rejected(_) => true,
            Outcome::Answered(ex) => matches!(ex.response.status, 401 | 403),
        }
    }

    /// The handshake summary carried as evidence: offered, requested, accepted.
    pub(crate) fn summary(&self) -> String {
        let request = if self.requested {
            if self.ca_names.is_empty() {
                "the server sent a CertificateRequest (no CA names)".to_string()
            } else {
                format!("the server sent a CertificateRequest naming {}", self.ca_names.join("; "))
            }
        } else {
            "the server sent no CertificateRequest".to_string()
        };
        let result = match &self.outcome {
            Outcome::Rejected(how) => format!("rejected ({how})"),
            Outcome::Answered(ex) => {
                let tls = ex.response.tls.as_ref().map(|t| format!(" over {} {}", t.version, t.cipher_suite));
                format!(
                    "accepted by the handshake{}; the application answered HTTP {}",
                    tls.unwrap_or_default(),
                    ex.response.status
                )
            }
        };
        format!("Offered: {}; {request}; {result}.", self.offered)
    }

    /// Evidence for the report: the exchange when there is one, else the summary alone.
    pub(crate) fn evidence(&self, ctx: &ScanContext, request: &Request) -> Evidence {
        match &self.outcome {
            Outcome::Answered(ex) => ctx.evidence(ex, self.summary()),
            Outcome::Rejected(how) => {
                let sent = SentRequest {
                    method: request.method.clone(),
                    url: request.url(),
                    version: HttpVersion::Http11,
                    headers: request.headers.clone(),
                    body: request.body.clone(),
                };
                Evidence {
                    note: self.summary(),
                    request: ctx.engine.redactor().request(&sent, 4096),
                    response: None,
                    error: Some(how.clone()),
                }
            }
        }
    }
}

/// Safe operations worth probing: those the description secures first.
pub(crate) fn probe_ops(ctx: &ScanContext) -> Vec<ScanOperation> {
    let mut ops: Vec<ScanOperation> =
        ctx.operations.iter().filter(|o| matches!(o.endpoint.method.as_str(), "GET" | "HEAD")).cloned().collect();
    ops.sort_by_key(|o| !o.secured);
    ops.truncate(MAX_OPS);
    ops
}

/// Sends the operation once on a fresh connection with its own client
/// configuration presenting `cert` (chain PEM, key PEM) or nothing. The
/// identity only contributes its headers; `extra` headers are added.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn probe(
    ctx: &ScanContext,
    check: &'static str,
    op: &ScanOperation,
    offered: &str,
    cert: Option<(&[u8], &[u8])>,
    identity: Option<Arc<Identity>>,
    extra: &[(String, Vec<u8>)],
) -> Result<(Probe, Request), String> {
    let resolver = ProbeResolver::new(cert, offered).map_err(|e| e.chain())?;
    let base = ctx.engine.tls_config_for(None).map_err(|e| e.chain())?;
    // Built from `op` itself (not looked up by endpoint): callers may have changed its target.
    let mut request = Request::new(op.endpoint.method.clone(), &ctx.origin, op.target.clone()).identity(identity);
    request.headers = op.headers.clone();
    if let Some(body) = &op.body {
        request.body = body.clone();
    }
    request.headers.extend(extra.iter().cloned());
    request.options.tls = Some(probe_config(&base, resolver.clone()));
    request.options.fresh_connection = true;
    request.options.no_retry = true;
    let result = ctx.send(check, Some(&op.endpoint), request.clone()).await;
    let outcome = match result {
        Ok(ex) => {
            let status = ex.response.status;
            let text = ex.response.text().to_ascii_lowercase();
            if status == 495 || status == 496 || (status == 400 && text.contains("certificate")) {
                Outcome::Rejected(format!("HTTP {status} certificate error page"))
            } else {
                Outcome::Answered(Arc::new(ex))
            }
        }
        Err(e @ (EngineError::Tls(_) | EngineError::Io(_) | EngineError::ClosedWithoutResponse)) => {
            Outcome::Rejected(e.chain())
        }
        Err(e) => return Err(e.chain()),
    };
    let ca_names_der = resolver.ca_hints();
    let ca_names = ca_names_der.iter().map(|der| dn_text(der)).collect();
    let requested = resolver.requested();
    Ok((Probe { offered: offered.to_string(), outcome, requested, ca_names, ca_names_der }, request))
}

/// A forged client certificate's flaw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forgery {
    /// Self-signed, the victim's subject.
    SelfSigned,
    /// Signed by a CA the forger made, named like the CA the server advertised.
    UnknownCa,
    /// As `UnknownCa`, validity ended yesterday.
    Expired,
    /// As `UnknownCa`, validity starts in a month.
    NotYetValid,
    /// As `UnknownCa`, extended key usage serverAuth only.
    WrongEku,
}

impl Forgery {
    /// Every forgery, in probing order.
    pub(crate) const ALL: [Forgery; 5] =
        [Forgery::SelfSigned, Forgery::UnknownCa, Forgery::Expired, Forgery::NotYetValid, Forgery::WrongEku];

    /// The finding component.
    pub(crate) fn component(self) -> &'static str {
        match self {
            Forgery::SelfSigned => "self-signed",
            Forgery::UnknownCa => "unknown-ca",
            Forgery::Expired => "expired",
            Forgery::NotYetValid => "not-yet-valid",
            Forgery::WrongEku => "wrong-eku",
        }
    }

    /// What a server that accepts it did not check.
    pub(crate) fn skipped(self) -> &'static str {
        match self {
            Forgery::SelfSigned => {
                "does not verify the client certificate chain: a self-signed certificate is accepted"
            }
            Forgery::UnknownCa => {
                "does not verify the issuer's signature against its trust anchors: a certificate from an unknown CA \
                 that merely copies the trusted CA's name is accepted"
            }
            Forgery::Expired => "does not check the validity period: an expired client certificate is accepted",
            Forgery::NotYetValid => {
                "does not check the validity period: a client certificate that is not valid yet is accepted"
            }
            Forgery::WrongEku => {
                "does not check the extended key usage: a certificate allowed only for server authentication is \
                 accepted as a client certificate"
            }
        }
    }
}

/// The PEM chain and PEM key of a forged certificate for `subject_der`,
/// issued (unless self-signed) by a fresh CA named `ca_name_der`.
pub(crate) fn forge(kind: Forgery, subject_der: &[u8], ca_name_der: &[u8]) -> Result<(String, String), String> {
    let err = |e: rcgen::Error| format!("cannot forge a certificate: {e}");
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
    let day = Duration::from_secs(86_400);
    let mut params = CertificateParams::default();
    params.distinguished_name = dn_from_der(subject_der);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = match kind {
        Forgery::WrongEku => vec![ExtendedKeyUsagePurpose::ServerAuth],
        _ => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    (params.not_before, params.not_after) = match kind {
        Forgery::Expired => (now - 30 * day, now - day),
        Forgery::NotYetValid => (now + 30 * day, now + 60 * day),
        _ => (now - day, now + 30 * day),
    };
    let key = KeyPair::generate().map_err(err)?;
    if kind == Forgery::SelfSigned {
        let cert = params.self_signed(&key).map_err(err)?;
        return Ok((cert.pem(), key.serialize_pem()));
    }
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = dn_from_der(ca_name_der);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    ca_params.not_before = now - 60 * day;
    ca_params.not_after = now + 365 * day;
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(err)?).map_err(err)?;
    params.use_authority_key_identifier_extension = true;
    let cert = params.signed_by(&key, &ca).map_err(err)?;
    Ok((format!("{}{}", cert.pem(), ca.pem()), key.serialize_pem()))
}

/// Identities with a client certificate that are not marked revoked.
pub(crate) fn cert_identities(ctx: &ScanContext) -> Vec<Arc<Identity>> {
    ctx.identities.iter().filter(|i| i.client_cert.is_some() && !i.revoked).cloned().collect()
}

/// The identity's own certificate and key as probe input.
pub(crate) fn own_cert(identity: &Identity) -> Option<(&[u8], &[u8])> {
    identity.client_cert.as_ref().map(|cc| (cc.cert_chain_pem.as_slice(), cc.key_pem.expose()))
}

/// An operation that needs a client certificate: the identity's own certificate
/// got a 2xx, and no certificate (same headers) was refused.
pub(crate) struct Guarded {
    /// The operation.
    pub op: ScanOperation,
    /// With the identity's valid certificate.
    pub valid: (Probe, Request),
    /// With no certificate.
    pub none: (Probe, Request),
}

/// The first probed operation that needs `identity`'s certificate.
pub(crate) async fn guarded_op(
    ctx: &ScanContext,
    check: &'static str,
    identity: &Arc<Identity>,
) -> Result<Option<Guarded>, String> {
    let mut last_err = None;
    for op in probe_ops(ctx) {
        let valid = match probe(
            ctx,
            check,
            &op,
            "the identity's own certificate",
            own_cert(identity),
            Some(identity.clone()),
            &[],
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        if valid.0.ok().is_none() {
            continue;
        }
        let none = match probe(ctx, check, &op, "no certificate", None, Some(identity.clone()), &[]).await {
            Ok(p) => p,
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        if none.0.refused() {
            return Ok(Some(Guarded { op, valid, none }));
        }
    }
    match last_err {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Whether two answers are the same for the purpose of "accepted like a valid certificate".
pub(crate) fn same_answer(a: &Exchange, b: &Exchange) -> bool {
    a.response.status == b.response.status
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::x509::{LeafFacts, leaf_facts, now_unix};
    use rcgen::{DistinguishedName, DnType};
    use x509_parser::prelude::{FromDer, X509Certificate};

    fn leaf_and_issuer(chain: &str) -> (LeafFacts, Option<Vec<u8>>, Vec<String>) {
        let leaf = leaf_facts(chain.as_bytes()).unwrap();
        let certs = mortar_engine::tls::parse_certs(chain.as_bytes(), "forged").unwrap();
        let issuer = certs.get(1).map(|c| X509Certificate::from_der(c.as_ref()).unwrap().1.subject().as_raw().to_vec());
        let (_, cert) = X509Certificate::from_der(certs[0].as_ref()).unwrap();
        let eku = cert
            .extended_key_usage()
            .unwrap()
            .map(|e| {
                let mut out = Vec::new();
                if e.value.client_auth {
                    out.push("client".to_string());
                }
                if e.value.server_auth {
                    out.push("server".to_string());
                }
                out
            })
            .unwrap_or_default();
        (leaf, issuer, eku)
    }

    #[test]
    fn forgeries_copy_the_names_and_break_exactly_one_property() {
        let mut subject = DistinguishedName::new();
        subject.push(DnType::CommonName, "alice.example");
        subject.push(DnType::OrganizationName, "Clients");
        let mut ca = DistinguishedName::new();
        ca.push(DnType::CommonName, "Example Client CA");
        let mut p = CertificateParams::default();
        p.distinguished_name = subject;
        let victim = p.self_signed(&KeyPair::generate().unwrap()).unwrap();
        let subject_der = leaf_facts(victim.pem().as_bytes()).unwrap().subject_der;
        let mut p = CertificateParams::default();
        p.distinguished_name = ca;
        let ca_der =
            leaf_facts(p.self_signed(&KeyPair::generate().unwrap()).unwrap().pem().as_bytes()).unwrap().subject_der;
        let now = now_unix();
        for kind in Forgery::ALL {
            let (chain, key) = forge(kind, &subject_der, &ca_der).unwrap();
            assert!(key.contains("PRIVATE KEY"));
            let (leaf, issuer, eku) = leaf_and_issuer(&chain);
            assert_eq!(leaf.subject_der, subject_der, "{kind:?} copies the victim's subject");
            match kind {
                Forgery::SelfSigned => assert_eq!(leaf.issuer_der, subject_der),
                _ => {
                    assert_eq!(leaf.issuer_der, ca_der, "{kind:?} is issued under the advertised CA's name");
                    assert_eq!(issuer.as_deref(), Some(ca_der.as_slice()), "{kind:?} ships its forged CA");
                }
            }
            let valid_now = leaf.not_before <= now && now <= leaf.not_after;
            assert_eq!(valid_now, !matches!(kind, Forgery::Expired | Forgery::NotYetValid), "{kind:?}");
            let want_eku = if kind == Forgery::WrongEku { "server" } else { "client" };
            assert_eq!(eku, [want_eku], "{kind:?}");
        }
    }
}

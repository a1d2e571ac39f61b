//! What the TLS posture checks (`encryption.weak-tls`, `encryption.early-data`)
//! share: a server-certificate verifier that lets any certificate through
//! (the posture is about the protocol) and the evidence their findings carry.

use crate::context::ScanContext;
use rustls::pki_types::ServerName;

/// The posture probes judge the protocol, not the server certificate (that is
/// `encryption.certificate`'s job), so any server certificate is let through
/// here; signatures are still checked.
#[derive(Debug)]
pub(crate) struct AnyServer;

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = mortar_engine::tls::provider().signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        let algs = mortar_engine::tls::provider().signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algs)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        mortar_engine::tls::provider().signature_verification_algorithms.supported_schemes()
    }
}

/// The base path's ordinary exchange, as the evidence a handshake finding
/// carries (its note is the caller's).
pub(crate) async fn baseline_evidence(ctx: &ScanContext, check: &'static str) -> Option<mortar_model::Evidence> {
    let endpoint = ctx.safe_endpoints().next().cloned()?;
    let exchange = ctx.baseline(check, &endpoint).await.ok()?;
    Some(ctx.evidence(&exchange, String::new()))
}

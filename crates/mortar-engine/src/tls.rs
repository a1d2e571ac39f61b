//! TLS client configurations: one crypto provider (ring), trust roots plus
//! `--ca-cert`, client certificates per identity, and a verifier that records
//! the server certificate's verdict instead of failing (unless strict), so an
//! untrusted certificate becomes a finding rather than the end of the scan.

use crate::EngineError;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The one crypto provider of the whole build.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS settings that apply to every connection of a scan.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// Extra trusted CA certificates (PEM), from `--ca-cert`.
    pub ca_pem: Vec<Vec<u8>>,
    /// Fail requests whose server certificate does not verify.
    pub strict: bool,
    /// Trust only `ca_pem`, not the built-in web roots (used by tests).
    pub only_given_roots: bool,
}

/// The verdict on a server's certificate, as seen during a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertVerdict {
    /// It chains to a trusted root and matches the name.
    Trusted,
    /// It does not verify; the reason as rustls words it.
    Rejected(String),
}

/// Records the verdict per server name and lets the handshake continue (unless strict).
#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    strict: bool,
    verdicts: Mutex<BTreeMap<String, CertVerdict>>,
}

impl RecordingVerifier {
    /// The last verdict recorded for `server_name`.
    pub fn verdict(&self, server_name: &str) -> Option<CertVerdict> {
        self.verdicts.lock().ok()?.get(server_name).cloned()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        let verdict = match &result {
            Ok(_) => CertVerdict::Trusted,
            Err(e) => CertVerdict::Rejected(e.to_string()),
        };
        if let Ok(mut map) = self.verdicts.lock() {
            map.insert(server_name.to_str().into_owned(), verdict);
        }
        match result {
            Err(e) if self.strict => Err(e),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The handshake signature is always checked: a server must hold the key
        // of the certificate it shows, trusted or not.
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Parses every certificate in a PEM buffer.
pub fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, EngineError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certs = certs.map_err(|e| EngineError::TlsConfig(format!("{what}: not a valid PEM certificate ({e})")))?;
    if certs.is_empty() {
        return Err(EngineError::TlsConfig(format!("{what}: no certificate found in PEM")));
    }
    Ok(certs)
}

/// Parses the first private key in a PEM buffer.
pub fn parse_key(pem: &[u8], what: &str) -> Result<PrivateKeyDer<'static>, EngineError> {
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| EngineError::TlsConfig(format!("{what}: no usable private key in PEM ({e})")))
}

/// Builds the scan's verifier from its settings.
pub fn build_verifier(settings: &TlsSettings) -> Result<Arc<RecordingVerifier>, EngineError> {
    let mut roots = RootCertStore::empty();
    if !settings.only_given_roots {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for (i, pem) in settings.ca_pem.iter().enumerate() {
        for cert in parse_certs(pem, &format!("CA certificate #{}", i + 1))? {
            roots
                .add(cert)
                .map_err(|e| EngineError::TlsConfig(format!("CA certificate #{} is not usable: {e}", i + 1)))?;
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| EngineError::TlsConfig(format!("cannot build the certificate verifier: {e}")))?;
    Ok(Arc::new(RecordingVerifier { inner, strict: settings.strict, verdicts: Mutex::new(BTreeMap::new()) }))
}

/// Builds a client configuration with the given ALPN protocols and optional client certificate.
pub fn client_config(
    verifier: Arc<RecordingVerifier>,
    alpn: &[&[u8]],
    client_cert: Option<&mortar_model::ClientCertificate>,
) -> Result<Arc<ClientConfig>, EngineError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| EngineError::TlsConfig(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match client_cert {
        Some(cc) => {
            let chain = parse_certs(&cc.cert_chain_pem, &cc.source)?;
            let key = parse_key(cc.key_pem.expose(), &cc.source)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| EngineError::TlsConfig(format!("{}: {e}", cc.source)))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// What a TLS handshake negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// e.g. `TLSv1_3`.
    pub version: String,
    /// e.g. `TLS13_AES_128_GCM_SHA256`.
    pub cipher_suite: String,
    /// Negotiated ALPN protocol.
    pub alpn: Option<String>,
    /// The server certificate's verdict.
    pub verdict: Option<CertVerdict>,
    /// The server's certificate chain, leaf first (DER).
    pub peer_certificates: Vec<Vec<u8>>,
}

/// A client-certificate resolver for client-auth probes: it records whether the
/// server sent a CertificateRequest (rustls calls `resolve` only then) and the CA
/// names it advertised, and presents the one chain it was given (or none).
#[derive(Debug)]
pub struct ProbeResolver {
    key: Option<Arc<rustls::sign::CertifiedKey>>,
    requested: std::sync::atomic::AtomicBool,
    hints: Mutex<Vec<Vec<u8>>>,
}

impl ProbeResolver {
    /// A resolver presenting `chain` with `key` (PEM), or nothing when `None`.
    pub fn new(cert: Option<(&[u8], &[u8])>, what: &str) -> Result<Arc<ProbeResolver>, EngineError> {
        let key = match cert {
            Some((chain_pem, key_pem)) => {
                let chain = parse_certs(chain_pem, what)?;
                let key = parse_key(key_pem, what)?;
                let signer = provider()
                    .key_provider
                    .load_private_key(key)
                    .map_err(|e| EngineError::TlsConfig(format!("{what}: {e}")))?;
                Some(Arc::new(rustls::sign::CertifiedKey::new(chain, signer)))
            }
            None => None,
        };
        Ok(Arc::new(ProbeResolver { key, requested: Default::default(), hints: Mutex::new(Vec::new()) }))
    }

    /// Whether the server asked for a client certificate during the handshake.
    pub fn requested(&self) -> bool {
        self.requested.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The distinguished names (DER) of the CAs the server said it accepts.
    pub fn ca_hints(&self) -> Vec<Vec<u8>> {
        self.hints.lock().map(|h| h.clone()).unwrap_or_default()
    }
}

impl rustls::client::ResolvesClientCert for ProbeResolver {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.requested.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut hints) = self.hints.lock() {
            *hints = root_hint_subjects.iter().map(|h| h.to_vec()).collect();
        }
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}

/// A one-probe client configuration derived from `base` (the engine's, so the
/// server certificate is judged the same way): the probe's resolver, session
/// resumption off (a resumed session skips the client certificate and would make
/// any forged certificate look accepted), no early data, HTTP/1.1 only.
pub fn probe_config(base: &ClientConfig, resolver: Arc<ProbeResolver>) -> Arc<ClientConfig> {
    let mut config = base.clone();
    config.client_auth_cert_resolver = resolver;
    config.resumption = rustls::client::Resumption::disabled();
    config.enable_early_data = false;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

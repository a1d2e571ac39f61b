//! Client certificates issued during a scan, for races that need a
//! never-seen identity each round (per-identity state initialised lazily on
//! the first request, write-up 000). The user gives the test environment's
//! client CA; each certificate gets a fresh key and a unique common name.

use mortar_model::{ClientCertificate, Identity, Secret};
use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_parser::prelude::{FromDer, X509Certificate};

/// Why a client CA could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    /// The CA certificate is not a PEM certificate.
    #[error("{what}: {detail}")]
    Certificate {
        /// Which file.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The CA key is not a PEM private key rcgen can sign with.
    #[error("{what}: not a usable private key ({source})")]
    Key {
        /// Which file.
        what: String,
        /// The parser's error.
        source: rcgen::Error,
    },
    /// Signing a new certificate failed.
    #[error("cannot issue a client certificate: {0}")]
    Issue(#[from] rcgen::Error),
}

/// A client CA that issues a fresh certificate per call.
pub struct ClientCertIssuer {
    ca_pem: String,
    ca_subject_der: Vec<u8>,
    ca_key_pem: Secret,
    /// Where the CA certificate came from, for messages.
    pub source: String,
    /// Where its key came from (a path, never the key), for reproduce lines.
    pub key_source: String,
    issued: AtomicU64,
}

impl std::fmt::Debug for ClientCertIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertIssuer").field("source", &self.source).finish_non_exhaustive()
    }
}

/// Two issuers are the same CA when certificate and source match (the key
/// is not compared: it belongs to the certificate).
impl PartialEq for ClientCertIssuer {
    fn eq(&self, other: &Self) -> bool {
        self.ca_pem == other.ca_pem && self.source == other.source
    }
}

impl Eq for ClientCertIssuer {}

impl ClientCertIssuer {
    /// A CA from its PEM certificate and PEM key; both are checked now so a
    /// bad file fails before the scan.
    pub fn from_pem(
        ca_pem: &[u8],
        key_pem: &[u8],
        source: &str,
        key_source: &str,
    ) -> Result<ClientCertIssuer, IssuerError> {
        let what = format!("client CA {source}");
        let bad = |detail: String| IssuerError::Certificate { what: what.clone(), detail };
        let first = CertificateDer::pem_slice_iter(ca_pem)
            .next()
            .ok_or_else(|| bad("no PEM certificate in it".into()))?
            .map_err(|e| bad(format!("not a valid PEM certificate ({e})")))?;
        let (_, ca) = X509Certificate::from_der(first.as_ref())
            .map_err(|e| IssuerError::Certificate { what: what.clone(), detail: format!("not X.509 ({e})") })?;
        let ca_subject_der = ca.subject().as_raw().to_vec();
        let key_text = String::from_utf8_lossy(key_pem);
        KeyPair::from_pem(&key_text).map_err(|source| IssuerError::Key { what: what.clone(), source })?;
        Ok(ClientCertIssuer {
            ca_pem: String::from_utf8_lossy(ca_pem).into_owned(),
            ca_subject_der,
            ca_key_pem: Secret::new(key_pem.to_vec()),
            source: source.to_string(),
            key_source: key_source.to_string(),
            issued: AtomicU64::new(0),
        })
    }

    /// `base` (its headers, signing, login) with a certificate nobody has
    /// presented before: common name `mortar-race-<random>-<n>`.
    pub fn fresh_identity(&self, base: Option<&Identity>) -> Result<Identity, IssuerError> {
        let n = self.issued.fetch_add(1, Ordering::Relaxed) + 1;
        let nonce: u64 = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos() as u64;
        let name = format!("mortar-race-{nonce:x}-{n}");
        let mut identity = base.cloned().unwrap_or_else(|| Identity::new(name.clone()));
        identity.name = name.clone();
        identity.client_cert = Some(self.issue(&name)?);
        identity.revoked = false;
        Ok(identity)
    }

    fn issue(&self, common_name: &str) -> Result<ClientCertificate, IssuerError> {
        let ca_key = KeyPair::from_pem(&String::from_utf8_lossy(self.ca_key_pem.expose()))?;
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = super::x509::dn_from_der(&self.ca_subject_der);
        let issuer = Issuer::new(ca_params, ca_key);
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
        let day = Duration::from_secs(86_400);
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        (params.not_before, params.not_after) = (now - day, now + day);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(ClientCertificate {
            cert_chain_pem: format!("{}{}", cert.pem(), self.ca_pem).into_bytes(),
            key_pem: Secret::new(key.serialize_pem()),
            source: format!("issued by {} for this race", self.source),
        })
    }
}

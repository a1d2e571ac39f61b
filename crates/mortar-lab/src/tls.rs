//! The lab's private PKI: one CA, one server leaf, rustls configurations and
//! randomness, all on the `ring` provider.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::LabError;

/// One day, the backdating of `not_before` (tolerates small clock skew).
const ONE_DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Lab certificates live a month: the lab is short-lived, the files are throwaway.
const VALIDITY: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The lab's CA and server leaf. Keys stay in memory only.
pub(crate) struct Pki {
    /// The CA certificate in PEM, written to `ca.pem` for `--ca-cert`.
    pub ca_pem: String,
    /// The CA certificate in DER, trusted by the readiness probe.
    pub ca_der: CertificateDer<'static>,
    /// The leaf certificate served by every target.
    pub leaf_der: CertificateDer<'static>,
    /// The leaf's PKCS#8 private key.
    leaf_key: PrivatePkcs8KeyDer<'static>,
    /// The CA with its key, to sign the certificate scenarios' bad leaves.
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// A deliberately flawed server certificate (the certificate scenarios).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadLeaf {
    /// Self-signed for 127.0.0.1 and localhost: no CA vouches for it.
    SelfSigned,
    /// Signed by the lab CA for 127.0.0.1, but its validity ended yesterday.
    Expired,
    /// Signed by the lab CA, valid, but only for another host name.
    WrongName,
}

/// The only crypto provider used by the lab; never the process default.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Pki {
    /// Generates a fresh CA ("mortar lab CA") and a leaf for 127.0.0.1 and
    /// localhost, valid from yesterday for 30 days.
    pub(crate) fn generate() -> Result<Pki, LabError> {
        // rcgen takes `time::OffsetDateTime`; derive "now" from the epoch so
        // the crate needs no direct dependency on `time`.
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
        let not_before = now - ONE_DAY;
        let not_after = now + VALIDITY;

        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params.distinguished_name.push(DnType::CommonName, "mortar lab CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        ca_params.not_before = not_before;
        ca_params.not_after = not_after;
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

        let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        leaf_params.distinguished_name = rcgen::DistinguishedName::new();
        leaf_params.distinguished_name.push(DnType::CommonName, "mortar lab server");
        leaf_params.is_ca = IsCa::ExplicitNoCa;
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf_params.use_authority_key_identifier_extension = true;
        leaf_params.not_before = not_before;
        leaf_params.not_after = not_after;
        let leaf_key = KeyPair::generate()?;
        let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

        Ok(Pki {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            leaf_der: leaf.der().clone(),
            leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
            ca,
        })
    }

    /// A server configuration presenting a deliberately flawed leaf (fresh
    /// key), with the given ALPN list. Everything else is as for the good leaf.
    pub(crate) fn bad_server_config(&self, kind: BadLeaf, alpn: &[&[u8]]) -> Result<rustls::ServerConfig, LabError> {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
        let names = match kind {
            BadLeaf::WrongName => vec!["api.mortar-lab.invalid".to_owned()],
            BadLeaf::SelfSigned | BadLeaf::Expired => vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
        };
        let mut params = CertificateParams::new(names)?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, "mortar lab server");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        (params.not_before, params.not_after) = match kind {
            BadLeaf::Expired => (now - VALIDITY, now - ONE_DAY),
            BadLeaf::SelfSigned | BadLeaf::WrongName => (now - ONE_DAY, now + VALIDITY),
        };
        let key = KeyPair::generate()?;
        let cert = match kind {
            BadLeaf::SelfSigned => params.self_signed(&key)?,
            BadLeaf::Expired | BadLeaf::WrongName => {
                params.use_authority_key_identifier_extension = true;
                params.signed_by(&key, &self.ca)?
            }
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// A server configuration presenting the leaf, with the given ALPN list.
    pub(crate) fn server_config(&self, alpn: &[&[u8]]) -> Result<rustls::ServerConfig, LabError> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf_der.clone()], PrivateKeyDer::Pkcs8(self.leaf_key.clone_key()))?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// A client configuration trusting only the lab CA (readiness probe, tests).
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, LabError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        Ok(rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

/// `len` random bytes as lowercase hex, from the ring provider's CSPRNG.
pub(crate) fn random_hex(len: usize) -> Result<String, LabError> {
    let mut bytes = vec![0u8; len];
    provider().secure_random.fill(&mut bytes).map_err(|_| LabError::Random)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

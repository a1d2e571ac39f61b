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

/// The lab's CA and server leaf. The leaf key stays in memory; the CA key is
/// written once, for client certificates issued by scans (see [`MtlsKit`]).
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

/// Fills `bytes` from the ring provider's CSPRNG.
pub(crate) fn fill_random(bytes: &mut [u8]) -> Result<(), LabError> {
    provider().secure_random.fill(bytes).map_err(|_| LabError::Random)
}

/// `len` random bytes as lowercase hex, from the ring provider's CSPRNG.
pub(crate) fn random_hex(len: usize) -> Result<String, LabError> {
    let mut bytes = vec![0u8; len];
    fill_random(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// How a mutual-TLS lab server verifies client certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// Lab CA with CRL, but a client without a certificate is let in too.
    Optional,
    /// A verifier that accepts any certificate (the write-ups' placeholder verifier).
    AcceptAny,
    /// Lab CA with CRL, but expiry (and "not yet valid") errors are ignored.
    NoExpiry,
    /// Lab CA, mandatory, no CRL: revoked certificates pass.
    NoRevocation,
    /// The remediation: mandatory, rooted at the lab CA only, CRL checked.
    Strict,
}

/// A client certificate the lab issued, as files in the lab directory.
#[derive(Debug, Clone)]
pub(crate) struct ClientFiles {
    /// Certificate PEM path.
    pub cert: std::path::PathBuf,
    /// Key PEM path (mode 0600).
    pub key: std::path::PathBuf,
}

/// The lab's mutual-TLS material: client identities (alice and bob valid,
/// carol revoked on the CRL, old expired), a `mortar.toml` naming them, and one
/// server configuration per [`ClientAuth`] mode.
pub(crate) struct MtlsKit {
    /// `mtls.toml` in the lab directory: the four identities, carol `revoked = true`.
    pub config_path: std::path::PathBuf,
    /// The lab CA's key (mode 0600), for scans that issue their own client
    /// certificates (the first-request race gives each round a new client).
    pub ca_key_path: std::path::PathBuf,
    configs: Vec<(ClientAuth, Arc<rustls::ServerConfig>)>,
}

impl MtlsKit {
    /// The server configuration of a mode.
    pub(crate) fn server_config(&self, mode: ClientAuth) -> Arc<rustls::ServerConfig> {
        self.configs
            .iter()
            .find(|(m, _)| *m == mode)
            .map(|(_, c)| Arc::clone(c))
            .unwrap_or_else(|| Arc::clone(&self.configs[0].1))
    }
}

/// Accepts any client certificate: the flaw, spelled out.
#[derive(Debug)]
struct AcceptAnyClient(Vec<rustls::SignatureScheme>);

impl rustls::server::danger::ClientCertVerifier for AcceptAnyClient {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &provider().signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &provider().signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.clone()
    }
}

/// Delegates to a real verifier but forgives validity-period errors.
#[derive(Debug)]
struct IgnoreExpiry(Arc<dyn rustls::server::danger::ClientCertVerifier>);

impl rustls::server::danger::ClientCertVerifier for IgnoreExpiry {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.0.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        use rustls::CertificateError as E;
        match self.0.verify_client_cert(end_entity, intermediates, now) {
            Err(rustls::Error::InvalidCertificate(
                E::Expired | E::ExpiredContext { .. } | E::NotValidYet | E::NotValidYetContext { .. },
            )) => Ok(rustls::server::danger::ClientCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

impl Pki {
    /// Issues a client certificate for `cn` signed by the lab CA; `expired`
    /// puts its validity in the past. Returns the certificate PEM, the key PEM
    /// and the serial number.
    fn client_cert(&self, cn: &str, serial: u64, expired: bool) -> Result<(String, String), LabError> {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.distinguished_name.push(DnType::OrganizationName, "mortar lab clients");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        (params.not_before, params.not_after) =
            if expired { (now - VALIDITY, now - ONE_DAY) } else { (now - ONE_DAY, now + VALIDITY) };
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.ca)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// The lab CA's CRL revoking `serials`.
    fn crl(&self, serials: &[u64]) -> Result<rustls::pki_types::CertificateRevocationListDer<'static>, LabError> {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
        let params = rcgen::CertificateRevocationListParams {
            this_update: now - ONE_DAY,
            next_update: now + VALIDITY,
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| rcgen::RevokedCertParams {
                    serial_number: rcgen::SerialNumber::from(*s),
                    revocation_time: now - ONE_DAY,
                    reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.ca)?.der().clone())
    }

    /// Client identities written to `dir` and a server configuration per mode.
    pub(crate) fn mtls_kit(&self, dir: &std::path::Path) -> Result<MtlsKit, LabError> {
        let mut toml = String::from("# mortar lab: client-certificate identities (generated at start-up)\n");
        for (name, serial, expired, revoked) in [
            ("alice", 101u64, false, false),
            ("bob", 102, false, false),
            ("carol", 103, false, true),
            ("old", 104, true, false),
        ] {
            let (cert, key) = self.client_cert(&format!("{name}.clients.mortar-lab"), serial, expired)?;
            let files =
                ClientFiles { cert: dir.join(format!("mtls-{name}.pem")), key: dir.join(format!("mtls-{name}.key")) };
            crate::write_file(&files.cert, cert.as_bytes(), 0o644)?;
            crate::write_file(&files.key, key.as_bytes(), 0o600)?;
            toml.push_str(&format!(
                "\n[identities.{name}]\ncert = {:?}\nkey = {:?}\n{}",
                files.cert.display().to_string(),
                files.key.display().to_string(),
                if revoked { "revoked = true\n" } else { "" }
            ));
        }
        let config_path = dir.join("mtls.toml");
        crate::write_file(&config_path, toml.as_bytes(), 0o644)?;
        let ca_key_path = dir.join("mtls-client-ca.key");
        crate::write_file(&ca_key_path, self.ca.key().serialize_pem().as_bytes(), 0o600)?;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        let roots = Arc::new(roots);
        let crl = self.crl(&[103])?;
        let build = |builder: rustls::server::ClientCertVerifierBuilder| {
            builder.build().map_err(|e| LabError::Tls(rustls::Error::General(format!("client verifier: {e}"))))
        };
        let with_crl = || {
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), provider())
                .with_crls([crl.clone()])
        };
        let strict = build(with_crl())?;
        let schemes = strict.supported_verify_schemes();
        let verifiers: [(ClientAuth, Arc<dyn rustls::server::danger::ClientCertVerifier>); 5] = [
            (ClientAuth::Optional, build(with_crl().allow_unauthenticated())?),
            (ClientAuth::AcceptAny, Arc::new(AcceptAnyClient(schemes))),
            (ClientAuth::NoExpiry, Arc::new(IgnoreExpiry(Arc::clone(&strict)))),
            (
                ClientAuth::NoRevocation,
                build(rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), provider()))?,
            ),
            (ClientAuth::Strict, strict),
        ];
        let mut configs = Vec::new();
        for (mode, verifier) in verifiers {
            let mut config = rustls::ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()?
                .with_client_cert_verifier(verifier)
                .with_single_cert(vec![self.leaf_der.clone()], PrivateKeyDer::Pkcs8(self.leaf_key.clone_key()))?;
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            configs.push((mode, Arc::new(config)));
        }
        Ok(MtlsKit { config_path, ca_key_path, configs })
    }
}

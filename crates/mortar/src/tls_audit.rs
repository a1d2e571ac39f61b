//! `mortar tls audit FILES...`: a server's own certificate and key files, read
//! offline. Findings: private key readable by others, weak key, expired or
//! expiring within 30 days (or not yet valid), chain not verifying against
//! `--ca`, key not matching the certificate. Exit 0 clean, 1 findings, 2 bad input.

use crate::cli::TlsAuditArgs;
use crate::error::exit;
use crate::{emit, error_line};
use mortar_checks::checks::certificate::{MIN_EC_BITS, MIN_RSA_BITS, cert_facts};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// A certificate expiring within this many days is a finding.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// One audit finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    /// The file it is about.
    pub file: String,
    /// `key-permissions`, `weak-key`, `expired`, `expires-soon`, `not-yet-valid`, `chain` or `key-mismatch`.
    pub check: &'static str,
    /// `high`, `medium` or `low`.
    pub severity: &'static str,
    /// One sentence.
    pub message: String,
}

/// What was read: facts for the text report.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// One line per certificate and key read.
    pub inventory: Vec<String>,
    /// The findings.
    pub findings: Vec<AuditFinding>,
}

struct Loaded {
    certs: Vec<(PathBuf, CertificateDer<'static>)>,
    keys: Vec<(PathBuf, PrivateKeyDer<'static>)>,
}

fn load(files: &[PathBuf]) -> Result<Loaded, String> {
    let mut loaded = Loaded { certs: Vec::new(), keys: Vec::new() };
    for path in files {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut found = 0;
        for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(&bytes) {
            let (kind, der) = item.map_err(|e| format!("{}: malformed PEM ({e})", path.display()))?;
            match kind {
                SectionKind::Certificate => {
                    X509Certificate::from_der(&der).map_err(|e| {
                        format!("{}: a CERTIFICATE block is not a valid X.509 certificate ({e})", path.display())
                    })?;
                    loaded.certs.push((path.clone(), CertificateDer::from(der)));
                }
                SectionKind::PrivateKey | SectionKind::RsaPrivateKey | SectionKind::EcPrivateKey => {
                    let key = PrivateKeyDer::from_pem(kind, der)
                        .ok_or_else(|| format!("{}: unsupported private key block", path.display()))?;
                    loaded.keys.push((path.clone(), key));
                }
                _ => continue,
            }
            found += 1;
        }
        if found == 0 {
            return Err(format!("{}: no PEM certificate or private key found", path.display()));
        }
    }
    Ok(loaded)
}

#[cfg(unix)]
fn mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn mode(_: &Path) -> Option<u32> {
    None
}

/// Audits the files; `Err` is bad input (exit 2).
pub fn audit(files: &[PathBuf], ca: Option<&Path>, now: i64) -> Result<AuditReport, String> {
    let loaded = load(files)?;
    let ca_certs = match ca {
        Some(path) => {
            let l = load(&[path.to_path_buf()])?;
            if l.certs.is_empty() {
                return Err(format!("{}: --ca holds no certificate", path.display()));
            }
            l.certs.into_iter().map(|(_, c)| c).collect()
        }
        None => Vec::new(),
    };
    let mut report = AuditReport { inventory: Vec::new(), findings: Vec::new() };
    let mut add = |file: &Path, check: &'static str, severity: &'static str, message: String| {
        report.findings.push(AuditFinding { file: file.display().to_string(), check, severity, message });
    };
    let provider = mortar_engine::tls::provider();
    let mut key_ids: Vec<KeyId> = Vec::new();
    for (path, key) in &loaded.keys {
        if let Some(m) = mode(path)
            && m & 0o077 != 0
        {
            add(
                path,
                "key-permissions",
                "high",
                format!("private key is readable by group or others (mode {m:04o}); use 0600"),
            );
        }
        match provider.key_provider.load_private_key(key.clone_key()) {
            Ok(signer) => {
                report.inventory.push(format!("{}: private key ({:?})", path.display(), signer.algorithm()));
                key_ids.push(match signer.public_key() {
                    Some(spki) => KeyId::Spki(spki.as_ref().to_vec()),
                    None => KeyId::Unknown,
                });
            }
            // ring refuses RSA keys under 2048 bits: read the modulus itself, so a
            // weak key is a finding (the certificate's) and the pair can still be matched.
            Err(e) => match rsa_modulus(key) {
                Some(modulus) => {
                    report.inventory.push(format!(
                        "{}: private key (RSA, {} bits, refused by ring)",
                        path.display(),
                        unsigned_bits(&modulus)
                    ));
                    key_ids.push(KeyId::RsaModulus(modulus));
                }
                None => return Err(format!("{}: unusable private key ({e})", path.display())),
            },
        }
    }
    for (i, (path, der)) in loaded.certs.iter().enumerate() {
        let Some(facts) = cert_facts(der) else { continue };
        report.inventory.push(format!(
            "{}: certificate `{}` issued by `{}`, {} {}-bit key",
            path.display(),
            facts.subject,
            facts.issuer,
            facts.key_algorithm,
            facts.key_bits
        ));
        let weak = match facts.key_algorithm {
            "RSA" => facts.key_bits < MIN_RSA_BITS,
            "EC" => facts.key_bits > 0 && facts.key_bits < MIN_EC_BITS,
            _ => false,
        };
        if weak {
            add(
                path,
                "weak-key",
                "high",
                format!("{} key of {} bits is too small", facts.key_algorithm, facts.key_bits),
            );
        }
        let days_left = (facts.not_after - now).div_euclid(86_400);
        if facts.not_after < now {
            add(
                path,
                "expired",
                "high",
                format!("certificate `{}` expired {} day(s) ago", facts.subject, (now - facts.not_after) / 86_400),
            );
        } else if days_left < EXPIRY_WARNING_DAYS {
            add(
                path,
                "expires-soon",
                "medium",
                format!("certificate `{}` expires in {days_left} day(s)", facts.subject),
            );
        }
        if facts.not_before > now {
            add(path, "not-yet-valid", "medium", format!("certificate `{}` is not valid yet", facts.subject));
        }
        // Only leaves (the first certificate of each file) pair with keys and chains.
        let first_of_file = loaded.certs.iter().position(|(p, _)| p == path) == Some(i);
        if !first_of_file {
            continue;
        }
        if !ca_certs.is_empty()
            && let Err(reason) = verify_chain(der, &loaded, &ca_certs)
        {
            add(path, "chain", "high", format!("chain does not verify against --ca: {reason}"));
        }
        let matches = |id: &KeyId| match id {
            KeyId::Spki(spki) => {
                X509Certificate::from_der(der).is_ok_and(|(_, c)| c.public_key().raw == spki.as_slice())
            }
            KeyId::RsaModulus(m) => cert_rsa_modulus(der).is_some_and(|c| c == *m),
            // Nothing to compare with: not reported as a mismatch.
            KeyId::Unknown => true,
        };
        if !key_ids.is_empty() && !key_ids.iter().any(matches) {
            add(path, "key-mismatch", "high", "no given private key matches this certificate's public key".to_string());
        }
    }
    Ok(report)
}

/// What identifies a private key's public half.
enum KeyId {
    /// The SubjectPublicKeyInfo, as ring derives it.
    Spki(Vec<u8>),
    /// An RSA modulus (big-endian, no leading zeros), read directly.
    RsaModulus(Vec<u8>),
    /// Unknown.
    Unknown,
}

fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().skip_while(|b| **b == 0).copied().collect()
}

fn unsigned_bits(bytes: &[u8]) -> usize {
    match bytes.first() {
        Some(first) => (bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
        None => 0,
    }
}

/// The modulus of an RSA private key (PKCS#1, or PKCS#8 wrapping PKCS#1).
fn rsa_modulus(key: &PrivateKeyDer<'_>) -> Option<Vec<u8>> {
    use x509_parser::der_parser::parse_der;
    let pkcs1 = match key {
        PrivateKeyDer::Pkcs1(k) => k.secret_pkcs1_der().to_vec(),
        PrivateKeyDer::Pkcs8(k) => {
            // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING, ... }
            let (_, info) = parse_der(k.secret_pkcs8_der()).ok()?;
            info.as_sequence().ok()?.get(2)?.as_slice().ok()?.to_vec()
        }
        _ => return None,
    };
    // RSAPrivateKey ::= SEQUENCE { version, modulus, publicExponent, ... }
    let (_, rsa) = parse_der(&pkcs1).ok()?;
    let modulus = rsa.as_sequence().ok()?.get(1)?.as_slice().ok()?;
    Some(strip_zeros(modulus))
}

/// The modulus of a certificate's RSA public key.
fn cert_rsa_modulus(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    match cert.public_key().parsed().ok()? {
        x509_parser::public_key::PublicKey::RSA(rsa) => Some(strip_zeros(rsa.modulus)),
        _ => None,
    }
}

fn verify_chain(leaf: &CertificateDer<'static>, loaded: &Loaded, ca: &[CertificateDer<'static>]) -> Result<(), String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in ca {
        roots.add(c.clone()).map_err(|e| format!("--ca certificate not usable: {e}"))?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), mortar_engine::tls::provider())
        .build()
        .map_err(|e| e.to_string())?;
    let intermediates: Vec<CertificateDer<'static>> =
        loaded.certs.iter().map(|(_, c)| c.clone()).filter(|c| c != leaf).collect();
    // The name is the certificate's own (first SAN, else CN): the audit is about the chain, not a host.
    let (_, cert) = X509Certificate::from_der(leaf).map_err(|e| e.to_string())?;
    let name = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| {
            san.value.general_names.iter().find_map(|g| match g {
                GeneralName::DNSName(d) => Some(d.to_string()),
                GeneralName::IPAddress(ip) if ip.len() == 4 => Some(format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])),
                _ => None,
            })
        })
        .or_else(|| cert.subject().iter_common_name().next().and_then(|c| c.as_str().ok()).map(str::to_string))
        .unwrap_or_else(|| "localhost".into());
    let server_name = ServerName::try_from(name).map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(leaf, &intermediates, &server_name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs `mortar tls audit`.
pub fn audit_command(args: &TlsAuditArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
    let report = match audit(&args.files, args.ca.as_deref(), now) {
        Ok(r) => r,
        Err(e) => {
            error_line(stderr, &e);
            return exit::ERROR;
        }
    };
    let text = if args.format == "json" {
        serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"
    } else {
        let mut t = String::new();
        for line in &report.inventory {
            t.push_str(&format!("  {line}\n"));
        }
        for f in &report.findings {
            t.push_str(&format!("{}: {}: {} ({})\n", f.file, f.severity, f.message, f.check));
        }
        t.push_str(&format!("{} finding(s)\n", report.findings.len()));
        t
    };
    if let Err(e) = emit(stdout, text.as_bytes()) {
        error_line(stderr, &format!("cannot write output: {e}"));
        return exit::ERROR;
    }
    if report.findings.is_empty() { exit::OK } else { exit::FAILED }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, CertifiedIssuer, IsCa, KeyPair};

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        path
    }

    fn pair(dir: &Path, key_mode: u32) -> (PathBuf, PathBuf, PathBuf) {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()]).unwrap().signed_by(&key, &ca).unwrap();
        (
            write(dir, "server.pem", &cert.pem(), 0o644),
            write(dir, "server.key", &key.serialize_pem(), key_mode),
            write(dir, "ca.pem", &ca.pem(), 0o644),
        )
    }

    fn now() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
    }

    fn checks(r: &AuditReport) -> Vec<&str> {
        r.findings.iter().map(|f| f.check).collect()
    }

    #[test]
    fn a_clean_pair_passes_and_a_world_readable_key_is_a_finding() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, ca) = pair(dir.path(), 0o600);
        // rcgen's default validity runs to 4096: not expiring.
        let r = audit(&[cert.clone(), key.clone()], Some(&ca), now()).unwrap();
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
            let r = audit(&[cert, key], Some(&ca), now()).unwrap();
            assert_eq!(checks(&r), ["key-permissions"]);
            assert!(r.findings[0].message.contains("0644"));
        }
    }

    #[test]
    fn a_mismatched_pair_and_a_foreign_ca_are_findings() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _, _) = pair(dir.path(), 0o600);
        let other = tempfile::tempdir().unwrap();
        let (_, other_key, other_ca) = pair(other.path(), 0o600);
        let r = audit(&[cert, other_key], Some(&other_ca), now()).unwrap();
        let mut got = checks(&r);
        got.sort();
        assert_eq!(got, ["chain", "key-mismatch"]);
    }

    #[test]
    fn expiry_within_thirty_days_is_a_finding() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, _) = pair(dir.path(), 0o600);
        // Move "now" to ten days before rcgen's default not_after (4096-01-01).
        let not_after = cert_facts(&load(std::slice::from_ref(&cert)).unwrap().certs[0].1).unwrap().not_after;
        let r = audit(&[cert, key], None, not_after - 10 * 86_400).unwrap();
        assert_eq!(checks(&r), ["expires-soon"]);
    }

    #[test]
    fn a_small_rsa_key_made_by_openssl_is_a_weak_key() {
        // rcgen on ring cannot make RSA keys: the fixture comes from the openssl CLI.
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("weak.pem"), dir.path().join("weak.key"));
        let made = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:1024",
                "-nodes",
                "-days",
                "90",
                "-subj",
                "/CN=weak.example",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if !made.is_ok_and(|s| s.success()) {
            println!("skipped: the openssl CLI is not installed (needed for an RSA fixture)");
            return;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let r = audit(&[cert, key], None, now()).unwrap();
        assert_eq!(checks(&r), ["weak-key"], "{:?}", r.findings);
        assert!(r.findings[0].message.contains("1024"));
    }

    #[test]
    fn unreadable_and_malformed_files_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let err = audit(&[missing], None, now()).unwrap_err();
        assert!(err.starts_with("cannot read") && !err.contains('\n'), "{err}");
        let junk = write(dir.path(), "junk.pem", "hello, not PEM\n", 0o644);
        let err = audit(&[junk], None, now()).unwrap_err();
        assert!(err.contains("no PEM certificate or private key"), "{err}");
        let broken =
            write(dir.path(), "broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0o644);
        let err = audit(&[broken], None, now()).unwrap_err();
        assert!(err.contains("broken.pem") && !err.contains('\n'), "{err}");
        let args = TlsAuditArgs { files: vec![dir.path().join("nope.pem")], ca: None, format: "text".into() };
        let (mut out, mut errout) = (Vec::new(), Vec::new());
        assert_eq!(audit_command(&args, &mut out, &mut errout), exit::ERROR);
        assert_eq!(String::from_utf8(errout).unwrap().lines().count(), 1);
    }
}

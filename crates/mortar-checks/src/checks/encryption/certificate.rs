//! The server certificate: untrusted (self-signed or unknown CA), expired, not
//! yet valid, issued for another name, or with a weak key. Read from the
//! engine's recorded verdict and the peer certificate of a normal request; the
//! scan goes on (unless `--strict-tls`, where it never gets here).

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use mortar_engine::{CertVerdict, Request, TlsInfo};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// The smallest RSA modulus accepted (bits).
pub const MIN_RSA_BITS: usize = 2048;
/// The smallest elliptic-curve key accepted (bits).
pub const MIN_EC_BITS: usize = 256;

/// Facts read from the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Validity start, Unix seconds.
    pub not_before: i64,
    /// Validity end, Unix seconds.
    pub not_after: i64,
    /// `RSA`, `EC`, or another algorithm name.
    pub key_algorithm: &'static str,
    /// Key size in bits (0 when unknown).
    pub key_bits: usize,
    /// Issuer equals subject.
    pub self_signed: bool,
}

impl CertFacts {
    fn summary(&self) -> String {
        format!(
            "subject `{}`, issuer `{}`, valid from {} to {} (Unix), {} {}-bit key",
            self.subject, self.issuer, self.not_before, self.not_after, self.key_algorithm, self.key_bits
        )
    }
}

/// One weakness of the certificate: a finding component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weakness {
    /// `self-signed`, `untrusted-issuer`, `expired`, `not-yet-valid`, `name-mismatch`, `weak-key` or `rejected`.
    pub component: &'static str,
    /// Severity of this weakness.
    pub severity: Severity,
    /// One sentence.
    pub detail: String,
}

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "encryption.certificate",
        category: Category::Encryption,
        severity: Severity::High,
        profile: Profile::Passive,
        title: "Server certificate not trustworthy",
        description: "Reads the verdict the TLS handshake recorded on the server certificate (webpki against the \
            trusted roots and --ca-cert) and the leaf certificate itself, and reports each weakness separately: \
            self-signed or issued by an unknown CA, expired, not yet valid, not valid for the host name, or a \
            weak key (RSA under 2048 bits, elliptic curve under 256). Clients either fail or are configured to \
            skip verification, which lets anyone in the path impersonate the API.",
        remediation: Remediation {
            summary: "Serve a certificate from a publicly trusted (or your organisation's) CA, for the exact host \
                name, within its validity (automate renewal, e.g. ACME), with an RSA 2048+ or ECDSA P-256+ key.",
            actix_web: "Load the renewed chain and key into the `rustls::ServerConfig` given to \
                `HttpServer::bind_rustls_0_23` (full chain, leaf first), and reload it before expiry (e.g. a \
                `ResolvesServerCert` that re-reads the files certbot/ACME renews).",
            axum: "Give axum-server's `RustlsConfig::from_pem_file(chain, key)` the renewed full chain and key and \
                call `config.reload_from_pem_file(..)` when the ACME client renews (or terminate TLS at a proxy \
                with managed certificates).",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-295", "CWE-298", "CWE-297", "CWE-326"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    if !ctx.origin.https {
        return CheckVerdict::Skipped("the target is plain HTTP: no certificate".into());
    }
    let Some(endpoint) = ctx.safe_endpoints().next().cloned() else {
        return CheckVerdict::Skipped("no endpoint reachable with a safe method".into());
    };
    let exchange = match ctx.baseline(id, &endpoint).await {
        Ok(exchange) => exchange,
        Err(e) => return CheckVerdict::Inconclusive(format!("no TLS response: {e}")),
    };
    let Some(tls) = &exchange.response.tls else {
        return CheckVerdict::Inconclusive("the response carried no TLS facts".into());
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default();
    let facts = tls.peer_certificates.first().and_then(|der| cert_facts(der));
    let request = Request::get(&ctx.origin, endpoint.path.clone()).identity(ctx.primary_identity());
    let weaknesses = assess(tls, facts.as_ref(), now);
    for weakness in &weaknesses {
        let verdict = match &tls.verdict {
            Some(CertVerdict::Rejected(reason)) => format!("the handshake's verifier rejected it ({reason})"),
            Some(CertVerdict::Trusted) => "the handshake's verifier trusted it".to_string(),
            None => "no verdict was recorded".to_string(),
        };
        let certificate = facts.as_ref().map(CertFacts::summary).unwrap_or_else(|| "unparsable leaf".into());
        reporter.observe(Observation {
            endpoint: None,
            component: Some(weakness.component.to_string()),
            severity: Some(weakness.severity),
            confidence: Confidence::Confirmed,
            title: Some(title(weakness.component).to_string()),
            description: format!(
                "{} ({}:{}): {} The scan continued without trusting it. Certificate: {certificate}.",
                weakness.detail,
                ctx.origin.host,
                ctx.origin.port,
                capitalise(&verdict)
            ),
            evidence: vec![
                ctx.evidence(&exchange, format!("TLS {} {}: {verdict}; {certificate}.", tls.version, tls.cipher_suite)),
            ],
            reproduce: ctx.curl(&request),
        });
    }
    CheckVerdict::Ran(format!(
        "server certificate of {}:{} assessed: {} weakness(es)",
        ctx.origin.host,
        ctx.origin.port,
        weaknesses.len()
    ))
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>() + ".").unwrap_or_default()
}

fn title(component: &str) -> &'static str {
    match component {
        "self-signed" => "Server certificate is self-signed",
        "untrusted-issuer" => "Server certificate issued by an untrusted CA",
        "expired" => "Server certificate expired",
        "not-yet-valid" => "Server certificate not yet valid",
        "name-mismatch" => "Server certificate does not match the host name",
        "weak-key" => "Server certificate has a weak key",
        _ => "Server certificate rejected",
    }
}

/// Reads the facts of a DER certificate.
pub fn cert_facts(der: &[u8]) -> Option<CertFacts> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let validity = cert.validity();
    let (key_algorithm, key_bits) = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => ("RSA", unsigned_bits(rsa.modulus)),
        Ok(PublicKey::EC(point)) => ("EC", point.key_size()),
        Ok(other) => ("other", other.key_size()),
        Err(_) => {
            // Ed25519 and friends: not parsed by x509-parser, and not weak.
            ("other", 0)
        }
    };
    Some(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        key_algorithm,
        key_bits,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
    })
}

/// Bits of a big-endian unsigned integer (leading zero bytes and bits ignored).
fn unsigned_bits(bytes: &[u8]) -> usize {
    let trimmed: &[u8] = match bytes.iter().position(|b| *b != 0) {
        Some(i) => &bytes[i..],
        None => return 0,
    };
    (trimmed.len() - 1) * 8 + (8 - trimmed[0].leading_zeros() as usize)
}

/// Every weakness shown by the recorded verdict and the leaf's facts, at `now` (Unix seconds).
pub fn assess(tls: &TlsInfo, facts: Option<&CertFacts>, now: i64) -> Vec<Weakness> {
    let mut out: Vec<Weakness> = Vec::new();
    let mut add = |component: &'static str, severity: Severity, detail: String| {
        if !out.iter().any(|w| w.component == component) {
            out.push(Weakness { component, severity, detail });
        }
    };
    let reason = match &tls.verdict {
        Some(CertVerdict::Rejected(reason)) => Some(reason.as_str()),
        _ => None,
    };
    let lower = reason.map(str::to_ascii_lowercase).unwrap_or_default();
    let mut explained = false;
    if let Some(f) = facts {
        if f.not_after < now {
            add(
                "expired",
                Severity::High,
                format!("The server certificate expired {} day(s) ago", (now - f.not_after) / 86_400),
            );
            explained = true;
        }
        if f.not_before > now {
            add("not-yet-valid", Severity::High, "The server certificate is not valid yet".to_string());
            explained = true;
        }
        let weak = match f.key_algorithm {
            "RSA" => f.key_bits > 0 && f.key_bits < MIN_RSA_BITS,
            "EC" => f.key_bits > 0 && f.key_bits < MIN_EC_BITS,
            _ => false,
        };
        if weak {
            add(
                "weak-key",
                Severity::Medium,
                format!("The server certificate has a {}-bit {} key", f.key_bits, f.key_algorithm),
            );
        }
    }
    if reason.is_some() {
        if lower.contains("expired") {
            add("expired", Severity::High, "The server certificate has expired".to_string());
            explained = true;
        }
        if lower.contains("not valid yet") || lower.contains("notvalidyet") {
            add("not-yet-valid", Severity::High, "The server certificate is not valid yet".to_string());
            explained = true;
        }
        if lower.contains("not valid for name") || lower.contains("notvalidforname") {
            add(
                "name-mismatch",
                Severity::High,
                "The server certificate is not valid for the host name the API is reached at".to_string(),
            );
            explained = true;
        }
        if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
            if facts.is_some_and(|f| f.self_signed) {
                add(
                    "self-signed",
                    Severity::High,
                    "The server certificate is self-signed: no trusted CA vouches for it".to_string(),
                );
            } else {
                add("untrusted-issuer", Severity::High, "The server certificate chains to no trusted CA".to_string());
            }
            explained = true;
        }
        if !explained {
            add("rejected", Severity::High, "The server certificate was rejected by the verifier".to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(verdict: Option<CertVerdict>, der: Vec<u8>) -> TlsInfo {
        TlsInfo {
            version: "TLSv1_3".into(),
            cipher_suite: "TLS13_AES_256_GCM_SHA384".into(),
            alpn: None,
            verdict,
            peer_certificates: vec![der],
        }
    }

    fn now() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
    }

    /// A P-256 certificate valid `from`..`to` days around today, self-signed or signed by a CA.
    fn rcgen_cert(from: i64, to: i64, self_signed: bool) -> Vec<u8> {
        let day = std::time::Duration::from_secs(86_400);
        let today = rcgen::date_time_ymd(1970, 1, 1) + std::time::Duration::from_secs(now() as u64);
        let at = |days: i64| if days >= 0 { today + day * days as u32 } else { today - day * (-days) as u32 };
        let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        params.not_before = at(from);
        params.not_after = at(to);
        let key = rcgen::KeyPair::generate().unwrap();
        if self_signed {
            return params.self_signed(&key).unwrap().der().to_vec();
        }
        let mut ca_params = rcgen::CertificateParams::default();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "test CA");
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap()).unwrap();
        params.signed_by(&key, &ca).unwrap().der().to_vec()
    }

    fn components(verdict: Option<CertVerdict>, der: Vec<u8>) -> Vec<&'static str> {
        let info = tls(verdict, der);
        let facts = cert_facts(&info.peer_certificates[0]);
        assess(&info, facts.as_ref(), now()).into_iter().map(|w| w.component).collect()
    }

    #[test]
    fn a_trusted_valid_ec_certificate_has_no_weakness() {
        let der = rcgen_cert(-1, 30, false);
        let facts = cert_facts(&der).unwrap();
        assert_eq!((facts.key_algorithm, facts.key_bits, facts.self_signed), ("EC", 256, false));
        assert!(components(Some(CertVerdict::Trusted), der).is_empty());
    }

    #[test]
    fn self_signed_and_unknown_ca_are_told_apart() {
        let reason = "invalid peer certificate: UnknownIssuer".to_string();
        let self_signed = rcgen_cert(-1, 30, true);
        assert_eq!(components(Some(CertVerdict::Rejected(reason.clone())), self_signed), vec!["self-signed"]);
        let unknown_ca = rcgen_cert(-1, 30, false);
        assert_eq!(components(Some(CertVerdict::Rejected(reason)), unknown_ca), vec!["untrusted-issuer"]);
    }

    #[test]
    fn validity_and_name_come_from_the_certificate_and_the_verdict() {
        let expired = rcgen_cert(-30, -1, false);
        let reason = "invalid peer certificate: certificate expired: verification time 2, but certificate is not valid after 1 (1 seconds ago)";
        assert_eq!(components(Some(CertVerdict::Rejected(reason.into())), expired.clone()), vec!["expired"]);
        // The dates alone suffice, whatever the verifier said.
        assert_eq!(components(None, expired), vec!["expired"]);
        assert_eq!(components(None, rcgen_cert(2, 30, false)), vec!["not-yet-valid"]);
        let reason = "invalid peer certificate: certificate not valid for name \"127.0.0.1\"; certificate is only valid for DnsName(\"api.mortar-lab.invalid\")";
        assert_eq!(
            components(Some(CertVerdict::Rejected(reason.into())), rcgen_cert(-1, 30, false)),
            vec!["name-mismatch"]
        );
        assert_eq!(
            components(
                Some(CertVerdict::Rejected("invalid peer certificate: Revoked".into())),
                rcgen_cert(-1, 30, false)
            ),
            vec!["rejected"]
        );
    }

    #[test]
    fn key_sizes_count_significant_bits() {
        assert_eq!(unsigned_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(unsigned_bits(&[0x01, 0x00]), 9);
        assert_eq!(unsigned_bits(&[0x00]), 0);
    }

    /// rcgen on ring cannot make RSA keys: the weak key comes from the openssl CLI.
    #[test]
    fn a_1024_bit_rsa_key_is_weak() {
        let dir = std::env::temp_dir().join(format!("mortar-weak-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.der"));
        let made = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:1024",
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=127.0.0.1",
                "-outform",
                "DER",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output();
        match made {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                eprintln!(
                    "skipped: openssl could not make an RSA-1024 certificate: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                return;
            }
            Err(e) => {
                eprintln!("skipped: the openssl CLI is not installed ({e})");
                return;
            }
        }
        let der = std::fs::read(&cert).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let facts = cert_facts(&der).unwrap();
        assert_eq!((facts.key_algorithm, facts.key_bits), ("RSA", 1024));
        let found = components(Some(CertVerdict::Rejected("invalid peer certificate: UnknownIssuer".into())), der);
        assert_eq!(found, vec!["weak-key", "self-signed"]);
    }
}

//! X.509 helpers the mTLS probes and the client-certificate issuer share:
//! distinguished names (as text, as rcgen names) and the facts of a chain's leaf.

use rcgen::{DistinguishedName, DnType};
use std::time::{SystemTime, UNIX_EPOCH};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::X509Name;

/// A DER distinguished name as text (`CN=..., O=...`), or hex when unparsable.
pub(crate) fn dn_text(der: &[u8]) -> String {
    match X509Name::from_der(der) {
        Ok((_, name)) => name.to_string(),
        Err(_) => der.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

/// Subject and issuer (DER) and validity (Unix seconds) of a PEM chain's leaf.
pub(crate) struct LeafFacts {
    /// Subject DN, DER.
    pub subject_der: Vec<u8>,
    /// Subject DN, text.
    pub subject: String,
    /// Issuer DN, DER.
    pub issuer_der: Vec<u8>,
    /// Validity start.
    pub not_before: i64,
    /// Validity end.
    pub not_after: i64,
    /// The leaf, DER.
    pub der: Vec<u8>,
}

/// Reads the leaf of a PEM chain.
pub(crate) fn leaf_facts(chain_pem: &[u8]) -> Option<LeafFacts> {
    let der = mortar_engine::tls::parse_certs(chain_pem, "certificate").ok()?.into_iter().next()?;
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    Some(LeafFacts {
        subject_der: cert.subject().as_raw().to_vec(),
        subject: cert.subject().to_string(),
        issuer_der: cert.issuer().as_raw().to_vec(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        der: der.as_ref().to_vec(),
    })
}

/// Now, Unix seconds.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// An rcgen name with the attributes of a DER name (unknown attribute types kept by OID).
pub(crate) fn dn_from_der(der: &[u8]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Ok((_, name)) = X509Name::from_der(der) {
        for attr in name.iter_attributes() {
            let Some(arcs) = attr.attr_type().iter() else { continue };
            let arcs: Vec<u64> = arcs.collect();
            if let Ok(value) = attr.as_str() {
                dn.push(DnType::from_oid(&arcs), value);
            }
        }
    }
    if dn.iter().next().is_none() {
        dn.push(DnType::CommonName, "mortar probe");
    }
    dn
}

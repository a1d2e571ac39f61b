//! The lab's HMAC request-verification layer, shared by the axum and
//! actix-web services of the `signing-*` scenarios (and the race scenarios
//! that sign their requests).
//!
//! The scheme is a typical home-grown one, documented for the scanner in the
//! scenario's mortar.toml:
//!
//! ```text
//! X-Timestamp: <unix seconds>
//! X-Nonce:     <random>
//! X-Signature: sha256=<hex HMAC-SHA256 of the string to sign>
//! string to sign = METHOD \n PATH \n QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body))
//! ```
//!
//! [`VerifierSettings::fixed`] is the remediation done right: every component
//! signed and compared over the raw bytes received, a constant-time
//! comparison of the whole MAC, a 300 s window and a nonce store consulted
//! only after the MAC checks out. Each vulnerable setting removes one of those
//! properties, the way real services get it wrong.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The header that carries the signature.
pub(crate) const SIGNATURE_HEADER: &str = "x-signature";
/// The header that carries the Unix timestamp.
pub(crate) const TIMESTAMP_HEADER: &str = "x-timestamp";
/// The header that carries the nonce.
pub(crate) const NONCE_HEADER: &str = "x-nonce";
/// The algorithm label in front of the hex MAC.
const PREFIX: &str = "sha256=";
/// The fixed window, as Stripe, Slack and AWS use.
pub(crate) const WINDOW_SECS: u64 = 300;

/// What the string to sign covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// Method, path, query, timestamp, nonce and body digest.
    Full,
    /// Timestamp, nonce and body digest only: the request line is not signed.
    BodyOnly,
    /// Method, path, query and body digest: no timestamp, no nonce.
    NoFreshness,
}

impl Coverage {
    /// The string-to-sign template, in mortar.toml's template syntax.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Coverage::Full => "{method}\n{path}\n{query}\n{timestamp}\n{nonce}\n{body_sha256_hex}",
            Coverage::BodyOnly => "{timestamp}\n{nonce}\n{body_sha256_hex}",
            Coverage::NoFreshness => "{method}\n{path}\n{query}\n{body_sha256_hex}",
        }
    }
}

/// How the MAC sent is compared with the one computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    /// `Mac::verify_slice`: constant time, whole MAC.
    ConstantTime,
    /// The flaw: compares only as many hex characters as were sent, so any
    /// prefix (the empty one too) of the right signature passes.
    SentPrefix,
}

/// One verifier's configuration.
#[derive(Debug, Clone)]
pub(crate) struct VerifierSettings {
    /// Keys accepted (a rotation list).
    pub keys: Vec<Vec<u8>>,
    /// What is signed.
    pub coverage: Coverage,
    /// Largest accepted distance between the signed timestamp and now;
    /// `None` accepts any timestamp.
    pub window_secs: Option<u64>,
    /// Refuse a nonce seen before.
    pub nonce_store: bool,
    /// How the MAC is compared.
    pub compare: Compare,
}

impl VerifierSettings {
    /// The remediation: every component, 300 s, nonce store, constant time.
    pub(crate) fn fixed(key: Vec<u8>) -> VerifierSettings {
        VerifierSettings {
            keys: vec![key],
            coverage: Coverage::Full,
            window_secs: Some(WINDOW_SECS),
            nonce_store: true,
            compare: Compare::ConstantTime,
        }
    }
}

/// Why a request was refused (the lab answers 401 with this text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Missing,
    Malformed,
    BadSignature,
    Stale,
    Replayed,
}

impl Refusal {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refusal::Missing => "missing signature",
            Refusal::Malformed => "malformed signature headers",
            Refusal::BadSignature => "invalid signature",
            Refusal::Stale => "timestamp outside the accepted window",
            Refusal::Replayed => "nonce already used",
        }
    }
}

/// A request as received: raw method, path and query, header lookup, body.
pub(crate) struct Received<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// Every value of a header (case-insensitive name).
    pub header: &'a dyn Fn(&str) -> Vec<String>,
    pub body: &'a [u8],
}

/// A verifier and its nonce store.
#[derive(Debug)]
pub(crate) struct LabVerifier {
    settings: VerifierSettings,
    /// nonce -> timestamp it was signed with, purged past the window.
    seen: Mutex<HashMap<String, i64>>,
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

impl LabVerifier {
    pub(crate) fn new(settings: VerifierSettings) -> LabVerifier {
        LabVerifier { settings, seen: Mutex::new(HashMap::new()) }
    }

    /// The string to sign for `request`, as this verifier understands it.
    fn string_to_sign(&self, r: &Received<'_>, timestamp: &str, nonce: &str) -> Vec<u8> {
        let digest = hex(&Sha256::digest(r.body));
        let text = match self.settings.coverage {
            Coverage::Full => format!("{}\n{}\n{}\n{timestamp}\n{nonce}\n{digest}", r.method, r.path, r.query),
            Coverage::BodyOnly => format!("{timestamp}\n{nonce}\n{digest}"),
            Coverage::NoFreshness => format!("{}\n{}\n{}\n{digest}", r.method, r.path, r.query),
        };
        text.into_bytes()
    }

    /// Accepts or refuses a request. State changes only after this returns `Ok`.
    pub(crate) fn verify(&self, r: &Received<'_>) -> Result<(), Refusal> {
        let single = |name: &str| -> Result<Option<String>, Refusal> {
            let mut values = (r.header)(name);
            match values.len() {
                0 => Ok(None),
                // Two signatures (or timestamps) are ambiguous: refuse rather than pick one.
                1 => Ok(values.pop()),
                _ => Err(Refusal::Malformed),
            }
        };
        let signature = single(SIGNATURE_HEADER)?.ok_or(Refusal::Missing)?;
        let freshness = self.settings.coverage != Coverage::NoFreshness;
        let (timestamp, nonce) = if freshness {
            let t = single(TIMESTAMP_HEADER)?.ok_or(Refusal::Missing)?;
            let n = single(NONCE_HEADER)?.ok_or(Refusal::Missing)?;
            if n.is_empty() || n.len() > 128 {
                return Err(Refusal::Malformed);
            }
            (t, n)
        } else {
            (String::new(), String::new())
        };
        // A fixed algorithm: anything but the one prefix is refused, never "upgraded".
        let sent_hex = signature.strip_prefix(PREFIX).ok_or(Refusal::Malformed)?;
        let message = self.string_to_sign(r, &timestamp, &nonce);
        let valid = self.settings.keys.iter().any(|key| {
            // HMAC takes keys of any length, the empty one included.
            let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(key) else { return false };
            mac.update(&message);
            match self.settings.compare {
                Compare::ConstantTime => unhex(sent_hex).is_some_and(|sent| mac.verify_slice(&sent).is_ok()),
                Compare::SentPrefix => {
                    let expected = hex(&mac.finalize().into_bytes());
                    expected.get(..sent_hex.len()) == Some(sent_hex)
                }
            }
        });
        if !valid {
            return Err(Refusal::BadSignature);
        }
        if freshness {
            let signed_at: i64 = timestamp.parse().map_err(|_| Refusal::Malformed)?;
            if let Some(window) = self.settings.window_secs
                && (now_secs() - signed_at).unsigned_abs() > window
            {
                return Err(Refusal::Stale);
            }
            if self.settings.nonce_store {
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                // Entries older than the window can go: their timestamp is refused anyway.
                if let Some(window) = self.settings.window_secs {
                    let horizon = now_secs() - window as i64 - 1;
                    seen.retain(|_, at| *at >= horizon);
                }
                if seen.insert(nonce, signed_at).is_some() {
                    return Err(Refusal::Replayed);
                }
            }
        }
        Ok(())
    }

    /// Signs a request the way a client of this service does (for the lab's
    /// captured samples).
    pub(crate) fn sign(&self, key: &[u8], r: &Received<'_>, timestamp: i64, nonce: &str) -> String {
        let message = self.string_to_sign(r, &timestamp.to_string(), nonce);
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(&message);
        format!("{PREFIX}{}", hex(&mac.finalize().into_bytes()))
    }

    pub(crate) fn coverage(&self) -> Coverage {
        self.settings.coverage
    }
}

/// actix-web adapter: verifies `request` with `body` as received; the 401
/// to answer when it fails.
pub(crate) fn verify_actix(
    verifier: &LabVerifier,
    request: &actix_web::HttpRequest,
    body: &[u8],
) -> Option<actix_web::HttpResponse> {
    let header = |name: &str| -> Vec<String> {
        request.headers().get_all(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect()
    };
    let received = Received {
        method: request.method().as_str(),
        path: request.uri().path(),
        query: request.uri().query().unwrap_or(""),
        header: &header,
        body,
    };
    verifier
        .verify(&received)
        .err()
        .map(|refusal| actix_web::HttpResponse::Unauthorized().json(serde_json::json!({"error": refusal.message()})))
}

/// axum adapter: verifies a request from its parts and body as received;
/// the 401 to answer when it fails.
pub(crate) fn verify_axum(
    verifier: &LabVerifier,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    let header = |name: &str| -> Vec<String> {
        headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect()
    };
    let received =
        Received { method: method.as_str(), path: uri.path(), query: uri.query().unwrap_or(""), header: &header, body };
    verifier.verify(&received).err().map(|refusal| {
        (axum::http::StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({"error": refusal.message()})))
            .into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received<'a>(header: &'a dyn Fn(&str) -> Vec<String>, query: &'a str) -> Received<'a> {
        Received { method: "GET", path: "/api/orders", query, header, body: b"" }
    }

    fn headers_of(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Vec<String> {
        move |name: &str| pairs.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).collect()
    }

    #[test]
    fn the_fixed_verifier_refuses_tampering_staleness_and_replay() {
        let v = LabVerifier::new(VerifierSettings::fixed(b"k".to_vec()));
        let now = now_secs();
        let sig = v.sign(b"k", &received(&|_| Vec::new(), "a=1"), now, "n1");
        let h = headers_of(vec![
            (SIGNATURE_HEADER, sig.clone()),
            (TIMESTAMP_HEADER, now.to_string()),
            (NONCE_HEADER, "n1".into()),
        ]);
        assert_eq!(v.verify(&received(&h, "a=2")), Err(Refusal::BadSignature));
        assert_eq!(v.verify(&received(&h, "a=1")), Ok(()));
        assert_eq!(v.verify(&received(&h, "a=1")), Err(Refusal::Replayed));
        let old = now - 301;
        let sig = v.sign(b"k", &received(&|_| Vec::new(), ""), old, "n2");
        let h = headers_of(vec![
            (SIGNATURE_HEADER, sig[..20].to_string()),
            (TIMESTAMP_HEADER, old.to_string()),
            (NONCE_HEADER, "n2".into()),
        ]);
        assert_eq!(v.verify(&received(&h, "")), Err(Refusal::BadSignature));
        let h =
            headers_of(vec![(SIGNATURE_HEADER, sig), (TIMESTAMP_HEADER, old.to_string()), (NONCE_HEADER, "n2".into())]);
        assert_eq!(v.verify(&received(&h, "")), Err(Refusal::Stale));
    }

    #[test]
    fn the_prefix_comparison_accepts_a_truncated_signature() {
        let settings = VerifierSettings { compare: Compare::SentPrefix, ..VerifierSettings::fixed(b"k".to_vec()) };
        let v = LabVerifier::new(settings);
        let now = now_secs();
        let sig = v.sign(b"k", &received(&|_| Vec::new(), ""), now, "n1");
        let h = headers_of(vec![
            (SIGNATURE_HEADER, sig[..12].to_string()),
            (TIMESTAMP_HEADER, now.to_string()),
            (NONCE_HEADER, "n1".into()),
        ]);
        assert_eq!(v.verify(&received(&h, "")), Ok(()));
    }
}

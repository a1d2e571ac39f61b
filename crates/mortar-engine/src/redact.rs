//! Evidence capture: secrets masked by header and by value, bodies capped and encoded.

use crate::request::{Exchange, SentRequest};
use base64::Engine as _;
use mortar_model::{Body, BodyEncoding, Evidence, EvidenceRequest, EvidenceResponse, Identity};

/// Header names whose values are credentials whatever they contain.
const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-access-token",
    "x-csrf-token",
    "x-amz-security-token",
];

/// The masks derived from the identities at one point of the scan.
#[derive(Debug, Clone, Default)]
struct Masks {
    /// Sum of the identities' login counts when these were built: a new token invalidates them.
    generation: u64,
    /// (secret form, placeholder), longest first.
    patterns: Vec<(Vec<u8>, String)>,
    /// Header names that identities send (lower-case), masked whole.
    identity_headers: Vec<(String, String)>,
}

/// Masks secrets in everything that leaves the engine as evidence, including
/// tokens that logins obtain during the scan.
#[derive(Debug, Default)]
pub struct Redactor {
    identities: Vec<std::sync::Arc<Identity>>,
    masks: std::sync::RwLock<std::sync::Arc<Masks>>,
}

fn generation(identities: &[std::sync::Arc<Identity>]) -> u64 {
    identities.iter().map(|i| i.session.logins()).sum()
}

fn build_masks(identities: &[std::sync::Arc<Identity>]) -> Masks {
    let mut patterns = Vec::new();
    let mut identity_headers = Vec::new();
    for id in identities {
        patterns.extend(id.secret_patterns());
        let names = id.headers.iter().map(|h| h.name.clone()).chain(id.login.iter().map(|l| l.apply_header.clone()));
        for name in names {
            identity_headers.push((name.to_ascii_lowercase(), format!("${}", id.placeholder(&name))));
        }
    }
    patterns.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    patterns.dedup_by(|a, b| a.0 == b.0);
    Masks { generation: generation(identities), patterns, identity_headers }
}

impl Redactor {
    /// A redactor for the secrets of these identities.
    pub fn new(identities: &[std::sync::Arc<Identity>]) -> Redactor {
        let masks = build_masks(identities);
        Redactor { identities: identities.to_vec(), masks: std::sync::RwLock::new(std::sync::Arc::new(masks)) }
    }

    /// The current masks, rebuilt when a login produced a new token.
    fn masks(&self) -> std::sync::Arc<Masks> {
        let current = generation(&self.identities);
        if let Ok(masks) = self.masks.read()
            && masks.generation == current
        {
            return masks.clone();
        }
        let fresh = std::sync::Arc::new(build_masks(&self.identities));
        if let Ok(mut slot) = self.masks.write() {
            *slot = fresh.clone();
        }
        fresh
    }

    /// Replaces every known secret form in `bytes` with its placeholder.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let masks = self.masks();
        let mut out = bytes.to_vec();
        for (pattern, placeholder) in &masks.patterns {
            if pattern.is_empty() || out.len() < pattern.len() {
                continue;
            }
            out = replace_all(&out, pattern, placeholder.as_bytes());
        }
        out
    }

    /// Masks a header value: credentials headers whole, cookies' values, then secrets by value.
    pub fn redact_header(&self, name: &str, value: &[u8]) -> String {
        let lower = name.to_ascii_lowercase();
        let masks = self.masks();
        if let Some((_, placeholder)) = masks.identity_headers.iter().find(|(n, _)| *n == lower) {
            return placeholder.clone();
        }
        if SENSITIVE_HEADERS.contains(&lower.as_str()) {
            return "[redacted]".to_string();
        }
        let value = String::from_utf8_lossy(&self.redact_bytes(value)).into_owned();
        if lower == "set-cookie" {
            return mask_set_cookie(&value);
        }
        value
    }

    fn headers(&self, headers: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
        headers.iter().map(|(n, v)| (n.clone(), self.redact_header(n, v))).collect()
    }

    /// Turns a request's record into evidence form.
    pub fn request(&self, sent: &SentRequest, body_cap: usize) -> EvidenceRequest {
        EvidenceRequest {
            method: sent.method.clone(),
            url: String::from_utf8_lossy(&self.redact_bytes(sent.url.as_bytes())).into_owned(),
            http_version: sent.version.as_str().to_string(),
            headers: self.headers(&sent.headers),
            body: (!sent.body.is_empty()).then(|| self.body(&sent.body, body_cap, false)),
        }
    }

    /// Builds evidence from an exchange.
    pub fn evidence(&self, exchange: &Exchange, note: impl Into<String>, body_cap: usize) -> Evidence {
        let r = &exchange.response;
        Evidence {
            note: note.into(),
            request: self.request(&exchange.request, body_cap),
            response: Some(EvidenceResponse {
                status: r.status,
                http_version: r.version.as_str().to_string(),
                headers: self.headers(&r.headers),
                body: (!r.body.is_empty()).then(|| self.body(&r.body, body_cap, r.body_truncated)),
                elapsed_ms: r.elapsed.as_millis() as u64,
            }),
            error: None,
        }
    }

    /// Redacts, truncates at `cap` bytes (on a character boundary when text), and encodes.
    pub fn body(&self, raw: &[u8], cap: usize, already_truncated: bool) -> Body {
        let redacted = self.redact_bytes(raw);
        let size = raw.len() as u64;
        match std::str::from_utf8(&redacted) {
            Ok(text) => {
                let mut end = text.len().min(cap);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                Body {
                    content: text[..end].to_string(),
                    encoding: BodyEncoding::Utf8,
                    truncated: already_truncated || end < text.len(),
                    size,
                }
            }
            Err(_) => {
                let end = redacted.len().min(cap);
                Body {
                    content: base64::engine::general_purpose::STANDARD.encode(&redacted[..end]),
                    encoding: BodyEncoding::Base64,
                    truncated: already_truncated || end < redacted.len(),
                    size,
                }
            }
        }
    }
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// `id=abc; Secure` becomes `id=[redacted]; Secure`: attributes stay visible for cookie checks.
fn mask_set_cookie(value: &str) -> String {
    let mut parts = value.splitn(2, ';');
    let pair = parts.next().unwrap_or("");
    let rest = parts.next();
    let name = pair.split_once('=').map(|(n, _)| n).unwrap_or(pair);
    match rest {
        Some(rest) => format!("{}=[redacted];{}", name.trim(), rest),
        None => format!("{}=[redacted]", name.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mortar_model::{IdentityHeader, Secret};
    use std::sync::Arc;

    fn redactor() -> Redactor {
        let mut id = Identity::new("alice");
        id.headers.push(IdentityHeader { name: "Authorization".into(), value: Secret::new("Bearer tok3n-value") });
        Redactor::new(&[Arc::new(id)])
    }

    #[test]
    fn masks_identity_headers_and_echoed_values() {
        let r = redactor();
        assert_eq!(r.redact_header("authorization", b"Bearer tok3n-value"), "$MORTAR_ALICE_AUTHORIZATION");
        assert_eq!(r.redact_header("Cookie", b"sid=1"), "[redacted]");
        let body = r.body(br#"{"caller":"Bearer tok3n-value","t":"tok3n-value"}"#, 1000, false);
        assert!(!body.content.contains("tok3n"), "{}", body.content);
        assert_eq!(r.redact_header("Set-Cookie", b"sid=abc; Secure; HttpOnly"), "sid=[redacted]; Secure; HttpOnly");
    }

    #[test]
    fn binary_bodies_are_base64_and_truncation_is_flagged() {
        let r = redactor();
        let body = r.body(&[0xff, 0xfe, 0x00, 0x01], 2, false);
        assert_eq!(body.encoding, BodyEncoding::Base64);
        assert!(body.truncated);
        assert_eq!(body.size, 4);
        let text = r.body("héllo".as_bytes(), 2, false);
        assert_eq!(text.content, "h");
    }
}

//! JSON Web Tokens parsed by hand (base64url + serde_json, not a JWT library:
//! libraries refuse exactly the tokens worth reporting, `alg: none`), found
//! in text; their HMAC keys are searched by [`super::jwt_dictionary`].

use super::pages::tokens;
use base64::Engine as _;
use serde_json::{Map, Value};

/// HMAC secrets seen in tutorials, defaults and leaks, tried first by the key
/// search and alone by request-signing probes. The empty string is first.
pub const WEAK_SECRETS: &[&str] = &[
    "",
    "secret",
    "changeme",
    "change-me",
    "changeit",
    "your-256-bit-secret",
    "your-secret-key",
    "your_jwt_secret",
    "your-jwt-secret",
    "jwt-secret",
    "jwt_secret",
    "jwtsecret",
    "jwt",
    "secretkey",
    "secret-key",
    "secret_key",
    "SECRET_KEY",
    "mysecret",
    "mysecretkey",
    "supersecret",
    "supersecretkey",
    "topsecret",
    "s3cr3t",
    "password",
    "passw0rd",
    "123456",
    "12345678",
    "1234567890",
    "qwerty",
    "admin",
    "test",
    "testing",
    "dev",
    "development",
    "default",
    "key",
    "private",
    "token",
    "shhhhh",
    "keyboard cat",
    "hello",
    "abc123",
];

/// A decoded JWT (the signature is kept as bytes for verification only).
#[derive(Debug, Clone)]
pub struct Jwt {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims (empty when the payload is not a JSON object).
    pub claims: Map<String, Value>,
    /// `header.payload`, the signed input.
    pub signing_input: String,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

impl Jwt {
    /// The `alg` header value.
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }
}

fn b64url(part: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()
}

/// Parses a compact JWS: three base64url parts whose header is a JSON object with `alg`.
pub fn parse(token: &str) -> Option<Jwt> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.is_empty() || p.is_empty() || !h.starts_with("eyJ") {
        return None;
    }
    let header: Map<String, Value> = serde_json::from_slice(&b64url(h)?).ok()?;
    header.get("alg")?.as_str()?;
    let claims = b64url(p).and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok()).unwrap_or_default();
    Some(Jwt { header, claims, signing_input: format!("{h}.{p}"), signature: b64url(s)? })
}

/// Every parseable JWT in a text, in order, without duplicates.
pub fn find_jwts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, token) in tokens(text, |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        let token = token.trim_matches('.');
        if token.starts_with("eyJ") && parse(token).is_some() && !out.iter().any(|t| t == token) {
            out.push(token.to_string());
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    /// The token jwt.io shows, signed with "your-256-bit-secret".
    pub(crate) const JWT_IO_EXAMPLE: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    /// Mints an HS256 token (test helper, also used by the checks' tests).
    pub(crate) fn mint(header: &str, claims: &str, secret: &[u8]) -> String {
        let e = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let input = format!("{}.{}", e(header.as_bytes()), e(claims.as_bytes()));
        let mut mac = <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(secret).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", e(&mac.finalize().into_bytes()))
    }

    #[test]
    fn finds_tokens_in_text_and_ignores_lookalikes() {
        let t = mint(r#"{"alg":"HS256"}"#, r#"{"exp":1}"#, b"k");
        let text = format!(r#"{{"token":"{t}","v":"eyJub3QiOiJqd3QifQ.eyJ4IjoxfQ.abc","f":"file.tar.gz"}}"#);
        assert_eq!(find_jwts(&text), vec![t.clone()]);
        assert!(find_jwts(&format!("Set-Cookie: session={t}; HttpOnly")).contains(&t));
        // Base64 blobs, UUIDs and dotted versions are not JWTs.
        assert!(find_jwts("eyJhbGciOiJIUzI1NiJ9 0f8fad5b-d9cb-469f-a165-70867728950e 1.2.3 a.b.c").is_empty());
    }
}

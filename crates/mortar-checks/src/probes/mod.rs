//! The machinery checks share: probe sessions several checks judge, page
//! fetching and masking, JSON, JWT and secret parsing, the spec sweep,
//! write/read-back, TLS and mTLS handshakes, the canary and the client CA.
//! Checks import from here, from [`crate::check`] and [`crate::context`],
//! never from one another.

pub(crate) mod account;
pub(crate) mod baseline;
pub(crate) mod bola;
pub mod canary;
#[cfg(test)]
pub(crate) mod fixture;
pub(crate) mod inject;
pub mod issuer;
pub(crate) mod json;
pub mod jwt;
pub mod jwt_dictionary;
pub(crate) mod llm;
pub(crate) mod mtls;
pub(crate) mod pages;
pub(crate) mod race;
pub(crate) mod readback;
pub(crate) mod request_signing;
pub(crate) mod secrets;
pub(crate) mod sign_in;
pub(crate) mod spec;
pub(crate) mod ssrf;
pub(crate) mod tls;
pub(crate) mod tls_hello;
pub(crate) mod write;
pub(crate) mod x509;

/// Text with everything but RFC 3986 unreserved characters percent-encoded
/// (a path segment, a query value).
pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A percent-encoded text decoded (`+` as a space, as in query strings);
/// malformed escapes are kept as they are.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_unreserved_characters_stay_as_they_are() {
        assert_eq!(super::percent_encode("a b/c?d=é-_.~"), "a%20b%2Fc%3Fd%3D%C3%A9-_.~");
    }
}

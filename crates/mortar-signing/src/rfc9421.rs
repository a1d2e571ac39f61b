//! RFC 9421 HTTP Message Signatures with `hmac-sha256`.
//!
//! Supported covered components: `@method`, `@authority`, `@scheme`,
//! `@target-uri`, `@request-target`, `@path`, `@query` and header fields
//! without parameters (`content-digest` is generated from the body when
//! covered and absent). Component parameters (`;sf`, `;key`, `;bs`, `;req`,
//! `;name` for `@query-param`) are refused rather than half-supported.

use crate::error::{SigningError, VerifyError};
use crate::request::{Header, RequestView};
use crate::util::{self, Algorithm};

/// RFC 9421 parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc9421 {
    /// Signature label (the dictionary key), e.g. `sig1`.
    pub label: String,
    /// `keyid` parameter, if any.
    pub key_id: Option<String>,
    /// Covered components in order, lower-case (`@method`, `content-type`...).
    pub components: Vec<String>,
    /// Add `alg="hmac-sha256"`.
    pub include_alg: bool,
    /// Add a `nonce` parameter from the nonce source.
    pub include_nonce: bool,
    /// Add `expires` this many seconds after `created`.
    pub expires_in_secs: Option<u64>,
    /// How the secret text becomes key bytes (the RFC's test key is base64).
    pub secret_encoding: crate::custom::SecretEncoding,
}

/// Derived components this module resolves.
const DERIVED: &[&str] = &["@method", "@authority", "@scheme", "@target-uri", "@request-target", "@path", "@query"];

impl Rfc9421 {
    /// Checks the component list.
    pub fn validate(&self) -> Result<(), SigningError> {
        if !is_key(&self.label) {
            return Err(SigningError::Config(format!("RFC 9421 label `{}` is not a structured-field key", self.label)));
        }
        for c in &self.components {
            check_component(c).map_err(SigningError::Config)?;
        }
        Ok(())
    }

    /// Signs: returns `Content-Digest` (when covered and absent),
    /// `Signature-Input` and `Signature`.
    pub(crate) fn sign(
        &self,
        key: &[u8],
        req: &RequestView<'_>,
        now_ms: i64,
        nonce: &dyn Fn() -> String,
    ) -> Result<Vec<Header>, SigningError> {
        let mut out = Vec::new();
        let mut extra: Vec<Header> = Vec::new();
        if self.components.iter().any(|c| c == "content-digest") && req.header("content-digest").is_none() {
            let digest = format!("sha-256=:{}:", util::b64(&util::digest(Algorithm::Sha256, req.body)));
            extra.push(("content-digest".into(), digest.clone()));
            out.push(("Content-Digest".into(), digest));
        }
        let all_headers: Vec<Header> = req.headers.iter().cloned().chain(extra).collect();
        let view = RequestView { headers: &all_headers, ..*req };
        let created = now_ms.div_euclid(1000);
        let mut params: Vec<(String, Bare)> = vec![("created".into(), Bare::Integer(created))];
        if let Some(k) = &self.key_id {
            params.push(("keyid".into(), Bare::String(k.clone())));
        }
        if self.include_alg {
            params.push(("alg".into(), Bare::String("hmac-sha256".into())));
        }
        if let Some(e) = self.expires_in_secs {
            let e = i64::try_from(e).unwrap_or(i64::MAX);
            params.push(("expires".into(), Bare::Integer(created.saturating_add(e))));
        }
        if self.include_nonce {
            params.push(("nonce".into(), Bare::String(nonce())));
        }
        let inner = InnerList {
            items: self.components.iter().map(|c| (Bare::String(c.clone()), Vec::new())).collect(),
            params,
        };
        let sig_params = inner.serialize();
        let base = signature_base(&view, &self.components, &sig_params).map_err(|e| match e {
            BaseError::MissingHeader(h) => SigningError::MissingHeader(h),
            BaseError::Other(m) => SigningError::Request(m),
        })?;
        let mac = util::mac(Algorithm::Sha256, key, &[base.as_bytes()]);
        out.push(("Signature-Input".into(), format!("{}={sig_params}", self.label)));
        out.push(("Signature".into(), format!("{}=:{}:", self.label, util::b64(&mac))));
        Ok(out)
    }

    /// Verifies the signature labelled `self.label`; every configured
    /// component must be covered. Returns (replay key, created in ms).
    pub(crate) fn verify(
        &self,
        key: &[u8],
        req: &RequestView<'_>,
        now_ms: i64,
        tolerance_secs: u64,
    ) -> Result<(String, Option<i64>), VerifyError> {
        let malformed = |what: &str, reason: &str| VerifyError::Malformed { what: what.into(), reason: reason.into() };
        let input_text = req.header_values("signature-input").join(", ");
        let sig_text = req.header_values("signature").join(", ");
        if input_text.is_empty() || sig_text.is_empty() {
            return Err(VerifyError::MissingSignature("Signature-Input/Signature".into()));
        }
        let inputs = parse_dictionary(&input_text).map_err(|e| malformed("Signature-Input", &e))?;
        let sigs = parse_dictionary(&sig_text).map_err(|e| malformed("Signature", &e))?;
        let Some(Member::Inner(inner)) = inputs.iter().find(|(k, _)| *k == self.label).map(|(_, m)| m) else {
            return Err(VerifyError::MissingSignature(format!("Signature-Input label `{}`", self.label)));
        };
        let Some(Member::Item(Bare::Bytes(received), _)) = sigs.iter().find(|(k, _)| *k == self.label).map(|(_, m)| m)
        else {
            return Err(VerifyError::MissingSignature(format!("Signature label `{}`", self.label)));
        };
        let mut covered = Vec::new();
        for (item, item_params) in &inner.items {
            let Bare::String(name) = item else {
                return Err(malformed("Signature-Input", "component is not a string"));
            };
            if !item_params.is_empty() {
                return Err(VerifyError::Policy(format!("component parameters on `{name}` are not supported")));
            }
            check_component(name).map_err(VerifyError::Policy)?;
            covered.push(name.clone());
        }
        for required in &self.components {
            if !covered.contains(required) {
                return Err(VerifyError::Policy(format!("`{required}` is not covered")));
            }
        }
        let param = |name: &str| inner.params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        match param("alg") {
            None => {}
            Some(Bare::String(a)) if a == "hmac-sha256" => {}
            Some(_) => return Err(VerifyError::Policy("alg is not hmac-sha256".into())),
        }
        if let Some(want) = &self.key_id {
            match param("keyid") {
                Some(Bare::String(k)) if k == want => {}
                _ => return Err(VerifyError::Policy("keyid differs".into())),
            }
        }
        let created_ms = match param("created") {
            Some(Bare::Integer(c)) => Some(c.saturating_mul(1000)),
            Some(_) => return Err(malformed("created", "not an integer")),
            None => return Err(VerifyError::Policy("`created` is required".into())),
        };
        if let Some(c) = created_ms {
            crate::custom::check_window(c, now_ms, tolerance_secs)?;
        }
        match param("expires") {
            None => {}
            Some(Bare::Integer(e)) if e.saturating_mul(1000) >= now_ms => {}
            Some(Bare::Integer(_)) => return Err(VerifyError::Expired),
            Some(_) => return Err(malformed("expires", "not an integer")),
        }
        if covered.iter().any(|c| c == "content-digest") {
            check_content_digest(req)?;
        }
        let base = signature_base(req, &covered, &inner.serialize()).map_err(|e| match e {
            BaseError::MissingHeader(h) => VerifyError::MissingHeader(h),
            BaseError::Other(m) => malformed("request", &m),
        })?;
        if !util::mac_verify(Algorithm::Sha256, key, &[base.as_bytes()], received) {
            return Err(VerifyError::Mismatch);
        }
        let replay_key = match param("nonce") {
            Some(Bare::String(n)) => n.clone(),
            _ => util::b64(received),
        };
        Ok((replay_key, created_ms))
    }
}

fn check_component(c: &str) -> Result<(), String> {
    if c.starts_with('@') {
        if DERIVED.contains(&c) {
            return Ok(());
        }
        return Err(format!("derived component `{c}` is not supported"));
    }
    if c.is_empty()
        || c.bytes().any(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.!#$%&'*+^`|~".contains(&b)))
    {
        return Err(format!("component `{c}` is not a lower-case field name"));
    }
    Ok(())
}

fn check_content_digest(req: &RequestView<'_>) -> Result<(), VerifyError> {
    let text = req.header_values("content-digest").join(", ");
    let dict =
        parse_dictionary(&text).map_err(|e| VerifyError::Malformed { what: "Content-Digest".into(), reason: e })?;
    let mut checked = false;
    for (alg, member) in &dict {
        let Member::Item(Bare::Bytes(value), _) = member else { continue };
        let expected = match alg.as_str() {
            "sha-256" => util::digest(Algorithm::Sha256, req.body),
            "sha-512" => util::digest(Algorithm::Sha512, req.body),
            _ => continue,
        };
        if &expected != value {
            return Err(VerifyError::DigestMismatch);
        }
        checked = true;
    }
    if !checked {
        return Err(VerifyError::Malformed { what: "Content-Digest".into(), reason: "no sha-256 or sha-512".into() });
    }
    Ok(())
}

enum BaseError {
    MissingHeader(String),
    Other(String),
}

/// The signature base (RFC 9421 section 2.5).
fn signature_base(req: &RequestView<'_>, components: &[String], sig_params: &str) -> Result<String, BaseError> {
    let mut base = String::new();
    for c in components {
        let value = component_value(req, c)?;
        if value.contains(['\n', '\r']) {
            return Err(BaseError::Other(format!("`{c}` contains a line break")));
        }
        base.push_str(&format!("\"{c}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {sig_params}"));
    Ok(base)
}

fn component_value(req: &RequestView<'_>, c: &str) -> Result<String, BaseError> {
    let authority = || {
        let a = req.authority().ok_or_else(|| BaseError::Other("no authority or Host header".into()))?;
        let a = a.trim().to_ascii_lowercase();
        // Default ports are not part of the normalised authority.
        let default = if req.scheme.eq_ignore_ascii_case("https") { ":443" } else { ":80" };
        Ok::<_, BaseError>(a.strip_suffix(default).map(str::to_string).unwrap_or(a))
    };
    Ok(match c {
        "@method" => req.method.to_string(),
        "@authority" => authority()?,
        "@scheme" => req.scheme.to_ascii_lowercase(),
        "@target-uri" => format!("{}://{}{}", req.scheme.to_ascii_lowercase(), authority()?, req.target),
        "@request-target" => req.target.to_string(),
        "@path" => {
            let p = req.path();
            if p.is_empty() { "/".into() } else { p.to_string() }
        }
        "@query" => format!("?{}", req.query().unwrap_or("")),
        name => {
            let values = req.header_values(name);
            if values.is_empty() {
                return Err(BaseError::MissingHeader(name.to_string()));
            }
            values.iter().map(|v| v.trim()).collect::<Vec<_>>().join(", ")
        }
    })
}

// ---- a minimal Structured Fields (RFC 8941) reader/writer: just enough for
// Signature-Input, Signature and Content-Digest dictionaries.

/// A bare item.
#[derive(Debug, Clone, PartialEq)]
enum Bare {
    Integer(i64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

type Params = Vec<(String, Bare)>;

#[derive(Debug, Clone, PartialEq)]
struct InnerList {
    items: Vec<(Bare, Params)>,
    params: Params,
}

#[derive(Debug, Clone, PartialEq)]
enum Member {
    Item(Bare, Params),
    Inner(InnerList),
}

fn is_key(k: &str) -> bool {
    let mut b = k.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_lowercase() || c == b'*')
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c))
}

impl Bare {
    fn serialize(&self) -> String {
        match self {
            Bare::Integer(i) => i.to_string(),
            Bare::String(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
            Bare::Token(t) => t.clone(),
            Bare::Bytes(b) => format!(":{}:", util::b64(b)),
            Bare::Bool(true) => "?1".into(),
            Bare::Bool(false) => "?0".into(),
        }
    }
}

fn serialize_params(params: &Params) -> String {
    params
        .iter()
        .map(|(k, v)| match v {
            Bare::Bool(true) => format!(";{k}"),
            v => format!(";{k}={}", v.serialize()),
        })
        .collect()
}

impl InnerList {
    fn serialize(&self) -> String {
        let items: Vec<String> =
            self.items.iter().map(|(i, p)| format!("{}{}", i.serialize(), serialize_params(p))).collect();
        format!("({}){}", items.join(" "), serialize_params(&self.params))
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn key(&mut self) -> Result<String, String> {
        let start = self.i;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.i += 1,
            _ => return Err(format!("expected a key at byte {start}")),
        }
        while matches!(self.peek(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c)) {
            self.i += 1;
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn bare(&mut self) -> Result<Bare, String> {
        match self.peek() {
            Some(b'"') => {
                self.i += 1;
                let mut out = String::new();
                loop {
                    match self.peek() {
                        None => return Err("unterminated string".into()),
                        Some(b'"') => {
                            self.i += 1;
                            return Ok(Bare::String(out));
                        }
                        Some(b'\\') => {
                            self.i += 1;
                            match self.peek() {
                                Some(c @ (b'"' | b'\\')) => out.push(c as char),
                                _ => return Err("bad escape in string".into()),
                            }
                            self.i += 1;
                        }
                        Some(c) if (0x20..0x7f).contains(&c) => {
                            out.push(c as char);
                            self.i += 1;
                        }
                        Some(_) => return Err("invalid character in string".into()),
                    }
                }
            }
            Some(b':') => {
                self.i += 1;
                let start = self.i;
                while matches!(self.peek(), Some(c) if c != b':') {
                    self.i += 1;
                }
                if self.peek() != Some(b':') {
                    return Err("unterminated byte sequence".into());
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "non-ASCII byte sequence")?;
                self.i += 1;
                util::unb64(text).map(Bare::Bytes).ok_or_else(|| "byte sequence is not base64".into())
            }
            Some(b'?') => {
                self.i += 1;
                let v = match self.peek() {
                    Some(b'1') => true,
                    Some(b'0') => false,
                    _ => return Err("bad boolean".into()),
                };
                self.i += 1;
                Ok(Bare::Bool(v))
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                    self.i += 1;
                }
                if self.peek() == Some(b'.') {
                    return Err("decimals are not supported here".into());
                }
                let text = String::from_utf8_lossy(&self.s[start..self.i]);
                if text.len() > 16 {
                    return Err("integer too long".into());
                }
                text.parse().map(Bare::Integer).map_err(|_| "bad integer".into())
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => {
                let start = self.i;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c)) {
                    self.i += 1;
                }
                Ok(Bare::Token(String::from_utf8_lossy(&self.s[start..self.i]).into_owned()))
            }
            _ => Err(format!("unexpected character at byte {}", self.i)),
        }
    }

    fn params(&mut self) -> Result<Params, String> {
        let mut out: Params = Vec::new();
        while self.peek() == Some(b';') {
            self.i += 1;
            self.skip_sp();
            let k = self.key()?;
            let v = if self.peek() == Some(b'=') {
                self.i += 1;
                self.bare()?
            } else {
                Bare::Bool(true)
            };
            out.retain(|(ek, _)| *ek != k);
            out.push((k, v));
        }
        Ok(out)
    }

    fn member(&mut self) -> Result<Member, String> {
        if self.peek() == Some(b'(') {
            self.i += 1;
            let mut items = Vec::new();
            loop {
                self.skip_sp();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    break;
                }
                let item = self.bare()?;
                let p = self.params()?;
                items.push((item, p));
                match self.peek() {
                    Some(b' ' | b')') => {}
                    _ => return Err("bad inner list".into()),
                }
            }
            let params = self.params()?;
            return Ok(Member::Inner(InnerList { items, params }));
        }
        let item = self.bare()?;
        Ok(Member::Item(item, self.params()?))
    }
}

/// Parses a dictionary; later duplicates replace earlier ones (RFC 8941).
fn parse_dictionary(text: &str) -> Result<Vec<(String, Member)>, String> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let mut out: Vec<(String, Member)> = Vec::new();
    p.skip_sp();
    while p.peek().is_some() {
        let k = p.key()?;
        let m = if p.peek() == Some(b'=') {
            p.i += 1;
            p.member()?
        } else {
            Member::Item(Bare::Bool(true), p.params()?)
        };
        out.retain(|(ek, _)| *ek != k);
        out.push((k, m));
        p.skip_ows();
        match p.peek() {
            None => break,
            Some(b',') => {
                p.i += 1;
                p.skip_ows();
                if p.peek().is_none() {
                    return Err("trailing comma".into());
                }
            }
            Some(_) => return Err(format!("expected `,` at byte {}", p.i)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dictionary_round_trip() {
        let text = r#"sig1=("@method" "content-type");created=1618884473;keyid="k\"1";alg="hmac-sha256""#;
        let d = parse_dictionary(text).unwrap();
        let Member::Inner(inner) = &d[0].1 else { panic!("not an inner list") };
        assert_eq!(format!("sig1={}", inner.serialize()), text);
        let d = parse_dictionary("sig1=:AAEC:, a=?0;x, b=tok").unwrap();
        assert_eq!(d[0].1, Member::Item(Bare::Bytes(vec![0, 1, 2]), vec![]));
        assert_eq!(d.len(), 3);
        for bad in ["sig1=(", "sig1=:AA", "Sig=1", "a=1,", "a=\"\\x\"", "a=1.5", "a=(\"x\"\"y\")"] {
            assert!(parse_dictionary(bad).is_err(), "{bad}");
        }
    }
}

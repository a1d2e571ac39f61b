//! Template-driven HMAC schemes: the string-to-sign and the header layout are
//! data, so GitHub, Stripe, Slack and Standard Webhooks are just presets of
//! this one scheme, and a target's home-grown scheme needs no code.

use serde::Deserialize;

use crate::error::{SigningError, VerifyError};
use crate::request::{Header, RequestView};
use crate::util::{self, Algorithm, Encoding};

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Method,
    Path,
    Query,
    Target,
    Authority,
    Header(String),
    Body,
    BodyDigest(Algorithm, Encoding),
    Timestamp,
    Nonce,
    Sig,
}

/// A parsed string-to-sign template such as `{timestamp}.{body}`.
///
/// Placeholders: `{method}`, `{path}`, `{query}` (without `?`), `{target}`
/// (path and query as sent), `{authority}`, `{header:NAME}` (all values
/// joined by `, `), `{body}` (raw bytes), `{body_sha256_hex}` and the other
/// `{body_<sha256|sha384|sha512>_<hex|base64|base64url>}`, `{timestamp}`,
/// `{nonce}`. `{{` and `}}` are literal braces. No backslash escapes: write
/// the template as a TOML basic string so that `\n` is a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// Which placeholders the template may use.
#[derive(Clone, Copy)]
enum Kind {
    StringToSign,
    SignatureFormat,
}

fn parse_pieces(source: &str, kind: Kind) -> Result<Vec<Piece>, SigningError> {
    let err = |reason: String| SigningError::Template { template: source.to_string(), reason };
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = source.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if matches!(chars.peek(), Some((_, '{'))) => {
                chars.next();
                literal.push('{');
            }
            '}' if matches!(chars.peek(), Some((_, '}'))) => {
                chars.next();
                literal.push('}');
            }
            '}' => return Err(err(format!("unmatched `}}` at byte {i}"))),
            '{' => {
                let rest = &source[i + 1..];
                let Some(end) = rest.find('}') else {
                    return Err(err(format!("unclosed `{{` at byte {i}")));
                };
                let name = &rest[..end];
                for _ in 0..name.chars().count() + 1 {
                    chars.next();
                }
                let piece = placeholder(name, kind).ok_or_else(|| err(format!("unknown placeholder `{{{name}}}`")))?;
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(piece);
            }
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

fn placeholder(name: &str, kind: Kind) -> Option<Piece> {
    match (kind, name) {
        (_, "timestamp") => return Some(Piece::Timestamp),
        (_, "nonce") => return Some(Piece::Nonce),
        (Kind::SignatureFormat, "sig") => return Some(Piece::Sig),
        (Kind::SignatureFormat, _) => return None,
        _ => {}
    }
    Some(match name {
        "method" => Piece::Method,
        "path" => Piece::Path,
        "query" => Piece::Query,
        "target" => Piece::Target,
        "authority" => Piece::Authority,
        "body" => Piece::Body,
        _ => {
            if let Some(h) = name.strip_prefix("header:") {
                if h.is_empty() {
                    return None;
                }
                return Some(Piece::Header(h.to_ascii_lowercase()));
            }
            let rest = name.strip_prefix("body_")?;
            let (alg, enc) = rest.split_once('_')?;
            let alg = match alg {
                "sha256" => Algorithm::Sha256,
                "sha384" => Algorithm::Sha384,
                "sha512" => Algorithm::Sha512,
                _ => return None,
            };
            let enc = match enc {
                "hex" => Encoding::Hex,
                "base64" => Encoding::Base64,
                "base64url" => Encoding::Base64url,
                _ => return None,
            };
            Piece::BodyDigest(alg, enc)
        }
    })
}

impl Template {
    /// Parses a string-to-sign template.
    pub fn parse(source: &str) -> Result<Template, SigningError> {
        Ok(Template { source: source.to_string(), pieces: parse_pieces(source, Kind::StringToSign)? })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The headers the template signs (`{header:NAME}`), lower-case.
    pub fn signed_headers(&self) -> Vec<String> {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Header(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    fn uses(&self, piece: &Piece) -> bool {
        self.pieces.contains(piece)
    }

    /// The bytes to sign for `req` with this timestamp and nonce text.
    fn render(&self, req: &RequestView<'_>, timestamp: &str, nonce: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.extend_from_slice(s.as_bytes()),
                Piece::Method => out.extend_from_slice(req.method.as_bytes()),
                Piece::Path => out.extend_from_slice(req.path().as_bytes()),
                Piece::Query => out.extend_from_slice(req.query().unwrap_or("").as_bytes()),
                Piece::Target => out.extend_from_slice(req.target.as_bytes()),
                Piece::Authority => {
                    out.extend_from_slice(req.authority().ok_or_else(|| "host".to_string())?.as_bytes())
                }
                Piece::Header(name) => {
                    let values = req.header_values(name);
                    if values.is_empty() {
                        return Err(name.clone());
                    }
                    out.extend_from_slice(values.join(", ").as_bytes());
                }
                Piece::Body => out.extend_from_slice(req.body),
                Piece::BodyDigest(alg, enc) => {
                    out.extend_from_slice(enc.encode(&util::digest(*alg, req.body)).as_bytes())
                }
                Piece::Timestamp => out.extend_from_slice(timestamp.as_bytes()),
                Piece::Nonce => out.extend_from_slice(nonce.as_bytes()),
                Piece::Sig => {}
            }
        }
        Ok(out)
    }
}

/// How the timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TimestampFormat {
    /// Unix seconds.
    #[default]
    Unix,
    /// Unix milliseconds.
    UnixMs,
    /// RFC 3339 in UTC, whole seconds (`2015-08-30T12:36:00Z`).
    Rfc3339,
}

impl TimestampFormat {
    /// Formats an instant given in Unix milliseconds.
    pub fn format(self, unix_ms: i64) -> String {
        match self {
            TimestampFormat::Unix => unix_ms.div_euclid(1000).to_string(),
            TimestampFormat::UnixMs => unix_ms.to_string(),
            TimestampFormat::Rfc3339 => util::rfc3339(unix_ms.div_euclid(1000)),
        }
    }

    /// Parses a received timestamp to Unix milliseconds.
    pub fn parse(self, text: &str) -> Option<i64> {
        match self {
            TimestampFormat::Unix => {
                text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse::<i64>().ok()?.checked_mul(1000))?
            }
            TimestampFormat::UnixMs => text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse::<i64>().ok())?,
            TimestampFormat::Rfc3339 => util::parse_rfc3339_ms(text),
        }
    }
}

/// How the secret text becomes key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SecretEncoding {
    /// The bytes as read.
    #[default]
    Raw,
    /// Standard base64.
    Base64,
    /// Standard Webhooks: optional `whsec_` prefix, then base64.
    Whsec,
}

impl SecretEncoding {
    /// Key bytes from the secret as read; errors never include the secret.
    pub fn decode(self, secret: &[u8]) -> Result<Vec<u8>, SigningError> {
        let text = || std::str::from_utf8(secret).map(str::trim).map_err(|_| "not UTF-8".to_string());
        let key = match self {
            SecretEncoding::Raw => return Ok(secret.to_vec()),
            SecretEncoding::Base64 => util::unb64(text().map_err(SigningError::MalformedSecret)?),
            SecretEncoding::Whsec => {
                let t = text().map_err(SigningError::MalformedSecret)?;
                util::unb64(t.strip_prefix("whsec_").unwrap_or(t))
            }
        };
        match key {
            Some(k) if !k.is_empty() => Ok(k),
            _ => Err(SigningError::MalformedSecret(format!("expected {self:?} key text"))),
        }
    }
}

/// A signature format such as `sha256={sig}` or `t={timestamp},v1={sig}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureFormat {
    source: String,
    pieces: Vec<Piece>,
}

impl SignatureFormat {
    /// Parses a format; it must contain `{sig}` exactly once.
    pub fn parse(source: &str) -> Result<SignatureFormat, SigningError> {
        let pieces = parse_pieces(source, Kind::SignatureFormat)?;
        if pieces.iter().filter(|p| **p == Piece::Sig).count() != 1 {
            return Err(SigningError::Template {
                template: source.to_string(),
                reason: "a signature format needs `{sig}` exactly once".into(),
            });
        }
        Ok(SignatureFormat { source: source.to_string(), pieces })
    }

    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    fn render(&self, sig: &str, timestamp: &str, nonce: &str) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Sig => out.push_str(sig),
                Piece::Timestamp => out.push_str(timestamp),
                Piece::Nonce => out.push_str(nonce),
                _ => {}
            }
        }
        out
    }

    /// `k={ph},k={ph}` formats are read as comma-separated key=value lists in
    /// any order with repeats (Stripe sends several `v1=` during key rolls).
    fn as_key_value_list(&self) -> Option<Vec<(String, Piece)>> {
        let mut out = Vec::new();
        let mut iter = self.pieces.iter();
        while let Some(p) = iter.next() {
            let Piece::Literal(lit) = p else { return None };
            let lit = if out.is_empty() { lit.as_str() } else { lit.strip_prefix(',')? };
            let key = lit.strip_suffix('=')?;
            if key.is_empty() || key.contains([',', '=']) {
                return None;
            }
            let ph = iter.next()?;
            if matches!(ph, Piece::Literal(_)) {
                return None;
            }
            out.push((key.to_string(), ph.clone()));
        }
        Some(out)
    }

    /// Extracts (signature candidates, timestamp, nonce) from a received value.
    fn extract(&self, value: &str) -> Option<Extracted> {
        if let Some(kv) = self.as_key_value_list() {
            let mut found = Extracted::default();
            for item in value.split(',') {
                let Some((k, v)) = item.trim().split_once('=') else { continue };
                for (key, ph) in &kv {
                    if key == k {
                        found.put(ph, v);
                    }
                }
            }
            return (!found.sigs.is_empty()).then_some(found);
        }
        if !value.contains(' ') || self.source.contains(' ') {
            return self.match_sequence(value);
        }
        // Standard Webhooks sends several space-separated signatures; the
        // format has no space, so each item is matched on its own.
        let mut all = Extracted::default();
        for item in value.split(' ').filter(|s| !s.is_empty()) {
            if let Some(found) = self.match_sequence(item) {
                all.sigs.extend(found.sigs);
                all.timestamp = all.timestamp.or(found.timestamp);
                all.nonce = all.nonce.or(found.nonce);
            }
        }
        (!all.sigs.is_empty()).then_some(all)
    }

    fn match_sequence(&self, value: &str) -> Option<Extracted> {
        let mut found = Extracted::default();
        let mut rest = value;
        let mut pieces = self.pieces.iter().peekable();
        while let Some(p) = pieces.next() {
            match p {
                Piece::Literal(lit) => rest = rest.strip_prefix(lit.as_str())?,
                ph => {
                    let end = match pieces.peek() {
                        Some(Piece::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    found.put(ph, &rest[..end]);
                    rest = &rest[end..];
                }
            }
        }
        (rest.is_empty() && !found.sigs.is_empty()).then_some(found)
    }
}

#[derive(Debug, Default)]
struct Extracted {
    sigs: Vec<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
}

impl Extracted {
    fn put(&mut self, ph: &Piece, v: &str) {
        match ph {
            Piece::Sig => self.sigs.push(v.to_string()),
            Piece::Timestamp => self.timestamp = self.timestamp.take().or_else(|| Some(v.to_string())),
            Piece::Nonce => self.nonce = self.nonce.take().or_else(|| Some(v.to_string())),
            _ => {}
        }
    }
}

/// A fully described template scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomScheme {
    /// Hash under HMAC.
    pub algorithm: Algorithm,
    /// What is signed.
    pub template: Template,
    /// Header carrying the signature.
    pub signature_header: String,
    /// How the signature header value is laid out.
    pub signature_format: SignatureFormat,
    /// How signature bytes become text.
    pub encoding: Encoding,
    /// How the timestamp is written.
    pub timestamp_format: TimestampFormat,
    /// Header carrying the timestamp, if it travels in its own header.
    pub timestamp_header: Option<String>,
    /// Header carrying the nonce, if it travels in its own header.
    pub nonce_header: Option<String>,
    /// How the configured secret becomes key bytes.
    pub secret_encoding: SecretEncoding,
}

impl CustomScheme {
    /// Whether a timestamp is signed or sent (a freshness window is possible).
    pub fn uses_timestamp(&self) -> bool {
        self.timestamp_header.is_some()
            || self.template.uses(&Piece::Timestamp)
            || self.signature_format.pieces.contains(&Piece::Timestamp)
    }

    /// Whether a nonce is signed or sent (a replay store is possible).
    pub fn uses_nonce(&self) -> bool {
        self.nonce_header.is_some()
            || self.template.uses(&Piece::Nonce)
            || self.signature_format.pieces.contains(&Piece::Nonce)
    }

    /// Checks that a verifier can recover everything the template signs.
    pub fn validate(&self) -> Result<(), SigningError> {
        if self.template.uses(&Piece::Timestamp)
            && self.timestamp_header.is_none()
            && !self.signature_format.pieces.contains(&Piece::Timestamp)
        {
            return Err(SigningError::Config(
                "the template signs {timestamp} but neither timestamp_header nor signature_format carries it".into(),
            ));
        }
        if self.template.uses(&Piece::Nonce)
            && self.nonce_header.is_none()
            && !self.signature_format.pieces.contains(&Piece::Nonce)
        {
            return Err(SigningError::Config(
                "the template signs {nonce} but neither nonce_header nor signature_format carries it".into(),
            ));
        }
        if self.signature_header.is_empty() {
            return Err(SigningError::Config("signature_header is empty".into()));
        }
        Ok(())
    }

    /// Signs; `key` is already decoded per `secret_encoding`.
    pub(crate) fn sign(
        &self,
        key: &[u8],
        req: &RequestView<'_>,
        now_ms: i64,
        nonce: &dyn Fn() -> String,
    ) -> Result<Vec<Header>, SigningError> {
        let timestamp = if self.uses_timestamp() { self.timestamp_format.format(now_ms) } else { String::new() };
        let nonce = if self.uses_nonce() { nonce() } else { String::new() };
        let data = self.template.render(req, &timestamp, &nonce).map_err(SigningError::MissingHeader)?;
        let sig = self.encoding.encode(&util::mac(self.algorithm, key, &[&data]));
        let mut out = Vec::new();
        if let Some(h) = &self.nonce_header {
            out.push((h.clone(), nonce.clone()));
        }
        if let Some(h) = &self.timestamp_header {
            out.push((h.clone(), timestamp.clone()));
        }
        out.push((self.signature_header.clone(), self.signature_format.render(&sig, &timestamp, &nonce)));
        Ok(out)
    }

    /// Verifies; returns (replay key, timestamp in ms) on success.
    pub(crate) fn verify(
        &self,
        key: &[u8],
        req: &RequestView<'_>,
        now_ms: i64,
        tolerance_secs: u64,
    ) -> Result<(String, Option<i64>), VerifyError> {
        let values = req.header_values(&self.signature_header);
        if values.is_empty() {
            return Err(VerifyError::MissingSignature(self.signature_header.clone()));
        }
        let mut found = Extracted::default();
        for v in values {
            if let Some(e) = self.signature_format.extract(v) {
                found.sigs.extend(e.sigs);
                found.timestamp = found.timestamp.or(e.timestamp);
                found.nonce = found.nonce.or(e.nonce);
            }
        }
        if found.sigs.is_empty() {
            return Err(VerifyError::Malformed {
                what: self.signature_header.clone(),
                reason: format!("does not match `{}`", self.signature_format.as_str()),
            });
        }
        let header = |name: &String| {
            req.header(name).map(str::to_string).ok_or_else(|| VerifyError::MissingHeader(name.clone()))
        };
        let timestamp = match &self.timestamp_header {
            Some(h) => Some(header(h)?),
            None => found.timestamp,
        };
        let nonce = match &self.nonce_header {
            Some(h) => Some(header(h)?),
            None => found.nonce,
        };
        let mut ts_ms = None;
        if self.uses_timestamp() {
            let text = timestamp.clone().ok_or_else(|| VerifyError::MissingHeader("timestamp".into()))?;
            let ms = self.timestamp_format.parse(&text).ok_or_else(|| VerifyError::Malformed {
                what: "timestamp".into(),
                reason: format!("expected {:?}", self.timestamp_format),
            })?;
            check_window(ms, now_ms, tolerance_secs)?;
            ts_ms = Some(ms);
        }
        let data = self
            .template
            .render(req, timestamp.as_deref().unwrap_or(""), nonce.as_deref().unwrap_or(""))
            .map_err(VerifyError::MissingHeader)?;
        for candidate in &found.sigs {
            let Some(bytes) = self.encoding.decode(candidate) else { continue };
            if util::mac_verify(self.algorithm, key, &[&data], &bytes) {
                let replay_key = nonce.unwrap_or_else(|| candidate.clone());
                return Ok((replay_key, ts_ms));
            }
        }
        Err(VerifyError::Mismatch)
    }
}

/// Rejects timestamps further than `tolerance_secs` from `now_ms`.
pub(crate) fn check_window(ts_ms: i64, now_ms: i64, tolerance_secs: u64) -> Result<(), VerifyError> {
    let skew_ms = now_ms.saturating_sub(ts_ms);
    let tolerance_ms = i64::try_from(tolerance_secs).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
    if skew_ms.unsigned_abs() > tolerance_ms.unsigned_abs() {
        return Err(VerifyError::Stale { skew_secs: skew_ms / 1000, tolerance_secs });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_reject() {
        let t = Template::parse("{method}\n{path}\n{query}\n{header:X-Date}\n{body_sha256_hex}\n{{x}}").unwrap();
        assert_eq!(t.pieces.len(), 10);
        assert!(Template::parse("{nope}").is_err());
        assert!(Template::parse("{body").is_err());
        assert!(Template::parse("a}b").is_err());
        assert!(Template::parse("{header:}").is_err());
        assert!(SignatureFormat::parse("sha256=").is_err());
        assert!(SignatureFormat::parse("{sig}{sig}").is_err());
        assert!(SignatureFormat::parse("{body}{sig}").is_err());
    }

    #[test]
    fn formats_extract() {
        let stripe = SignatureFormat::parse("t={timestamp},v1={sig}").unwrap();
        let e = stripe.extract("t=12,v1=aa,v0=zz,v1=bb").unwrap();
        assert_eq!(e.sigs, ["aa", "bb"]);
        assert_eq!(e.timestamp.as_deref(), Some("12"));
        let sw = SignatureFormat::parse("v1,{sig}").unwrap();
        assert_eq!(sw.extract("v1,AAA= v2,x v1,BBB=").unwrap().sigs, ["AAA=", "BBB="]);
        let gh = SignatureFormat::parse("sha256={sig}").unwrap();
        assert!(gh.extract("sha1=abc").is_none());
        assert!(gh.extract("").is_none());
    }
}

fn fixed_template(source: &str, pieces: Vec<Piece>) -> Template {
    Template { source: source.to_string(), pieces }
}

fn fixed_format(source: &str, pieces: Vec<Piece>) -> SignatureFormat {
    SignatureFormat { source: source.to_string(), pieces }
}

fn lit(s: &str) -> Piece {
    Piece::Literal(s.to_string())
}

/// Preset constructors. Built piece by piece (not parsed) so that they
/// cannot fail; a unit test checks them against their parsed text.
impl CustomScheme {
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>` over the raw body.
    pub fn github() -> CustomScheme {
        CustomScheme {
            algorithm: Algorithm::Sha256,
            template: fixed_template("{body}", vec![Piece::Body]),
            signature_header: "X-Hub-Signature-256".into(),
            signature_format: fixed_format("sha256={sig}", vec![lit("sha256="), Piece::Sig]),
            encoding: Encoding::Hex,
            timestamp_format: TimestampFormat::Unix,
            timestamp_header: None,
            nonce_header: None,
            secret_encoding: SecretEncoding::Raw,
        }
    }

    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>` over `<t>.<body>`.
    pub fn stripe() -> CustomScheme {
        CustomScheme {
            template: fixed_template("{timestamp}.{body}", vec![Piece::Timestamp, lit("."), Piece::Body]),
            signature_header: "Stripe-Signature".into(),
            signature_format: fixed_format(
                "t={timestamp},v1={sig}",
                vec![lit("t="), Piece::Timestamp, lit(",v1="), Piece::Sig],
            ),
            ..CustomScheme::github()
        }
    }

    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:<ts>:<body>`, with
    /// `X-Slack-Request-Timestamp`.
    pub fn slack() -> CustomScheme {
        CustomScheme {
            template: fixed_template(
                "v0:{timestamp}:{body}",
                vec![lit("v0:"), Piece::Timestamp, lit(":"), Piece::Body],
            ),
            signature_header: "X-Slack-Signature".into(),
            signature_format: fixed_format("v0={sig}", vec![lit("v0="), Piece::Sig]),
            timestamp_header: Some("X-Slack-Request-Timestamp".into()),
            ..CustomScheme::github()
        }
    }

    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`,
    /// `webhook-signature: v1,<base64>` over `<id>.<ts>.<body>`; the secret is
    /// `whsec_` + base64.
    pub fn standard_webhooks() -> CustomScheme {
        CustomScheme {
            template: fixed_template(
                "{nonce}.{timestamp}.{body}",
                vec![Piece::Nonce, lit("."), Piece::Timestamp, lit("."), Piece::Body],
            ),
            signature_header: "webhook-signature".into(),
            signature_format: fixed_format("v1,{sig}", vec![lit("v1,"), Piece::Sig]),
            encoding: Encoding::Base64,
            timestamp_header: Some("webhook-timestamp".into()),
            nonce_header: Some("webhook-id".into()),
            secret_encoding: SecretEncoding::Whsec,
            ..CustomScheme::github()
        }
    }
}

#[cfg(test)]
mod preset_tests {
    use super::*;

    #[test]
    fn presets_equal_their_parsed_text() {
        for s in
            [CustomScheme::github(), CustomScheme::stripe(), CustomScheme::slack(), CustomScheme::standard_webhooks()]
        {
            assert_eq!(Template::parse(s.template.as_str()).unwrap(), s.template);
            assert_eq!(SignatureFormat::parse(s.signature_format.as_str()).unwrap(), s.signature_format);
            s.validate().unwrap();
        }
    }
}

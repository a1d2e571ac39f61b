//! AWS Signature Version 4 (header form).
//!
//! Canonicalisation follows the published rules and matches botocore's
//! `SigV4Auth` on targets that are already strictly percent-encoded:
//! - path: dot segments and repeated slashes removed, then each segment
//!   URI-encoded again (the target is already encoded once, so `%` becomes
//!   `%25`: "encoded twice"); S3 uses the path as sent;
//! - query: each `key=value` percent-decoded and re-encoded strictly, sorted
//!   by key then value (`+` is a literal plus, not a space);
//! - headers: names lower-cased, values trimmed with inner runs of white
//!   space collapsed, repeats joined by `,`, sorted; hop-by-hop and
//!   `user-agent` headers are not signed (as botocore).

use crate::error::{SigningError, VerifyError};
use crate::request::{Header, RequestView};
use crate::secret::SigningSecret;
use crate::util::{self, Algorithm};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Headers never signed (botocore's list plus `authorization`).
const UNSIGNED: &[&str] = &[
    "authorization",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// SigV4 parameters. The secret access key is the signer's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSigV4 {
    /// Access key id (not secret: it travels in the Authorization header).
    pub access_key_id: String,
    /// Region of the credential scope, e.g. `us-east-1`.
    pub region: String,
    /// Service of the credential scope, e.g. `execute-api`; `s3` switches off
    /// path normalisation and turns on `x-amz-content-sha256`.
    pub service: String,
    /// Session token for temporary credentials (`X-Amz-Security-Token`).
    pub session_token: Option<SigningSecret>,
    /// Send `X-Amz-Content-SHA256` (S3 requires it).
    pub content_sha256_header: bool,
}

/// A parsed `Authorization: AWS4-HMAC-SHA256 ...` header.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.trim_start();
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => return None,
        }
    }
    let scope: Vec<&str> = credential?.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return None;
    }
    Some(Authorization {
        access_key_id: scope[0],
        date: scope[1],
        region: scope[2],
        service: scope[3],
        signed_headers: signed?.split(';').collect(),
        signature: signature?,
    })
}

impl AwsSigV4 {
    fn is_s3(&self) -> bool {
        self.service == "s3"
    }

    /// The canonical URI for a path as sent.
    pub fn canonical_uri(&self, path: &str) -> String {
        if self.is_s3() {
            return if path.is_empty() { "/".into() } else { path.to_string() };
        }
        util::uri_encode(remove_dot_segments(path).as_bytes(), true)
    }

    /// Canonical headers (joined lines) and the signed-headers list, for the
    /// given (lower-case name, value) pairs.
    fn canonical_headers(pairs: &[(String, &str)]) -> (String, String) {
        let mut names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let mut lines = String::new();
        for name in &names {
            let values: Vec<String> = pairs
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            lines.push_str(name);
            lines.push(':');
            lines.push_str(&values.join(","));
            lines.push('\n');
        }
        (lines, names.join(";"))
    }

    fn canonical_request(
        &self,
        req: &RequestView<'_>,
        pairs: &[(String, &str)],
        payload_hash: &str,
    ) -> (String, String) {
        let (headers, signed) = Self::canonical_headers(pairs);
        let creq = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            req.method,
            self.canonical_uri(req.path()),
            canonical_query(req.query().unwrap_or("")),
            headers,
            signed,
            payload_hash
        );
        (creq, signed)
    }

    /// The derived signing key and the string to sign.
    fn key_and_string_to_sign(
        &self,
        secret: &[u8],
        amz_date: &str,
        region: &str,
        service: &str,
        creq: &str,
    ) -> (Vec<u8>, String) {
        let day = amz_date.get(..8).unwrap_or("");
        let scope = format!("{day}/{region}/{service}/aws4_request");
        let creq_hash = util::hex(&util::digest(Algorithm::Sha256, creq.as_bytes()));
        let sts = format!("{ALGORITHM}\n{amz_date}\n{scope}\n{creq_hash}");
        let mut k = b"AWS4".to_vec();
        k.extend_from_slice(secret);
        let mut key = util::mac(Algorithm::Sha256, &k, &[day.as_bytes()]);
        for part in [region, service, "aws4_request"] {
            key = util::mac(Algorithm::Sha256, &key, &[part.as_bytes()]);
        }
        (key, sts)
    }

    fn payload_hash(&self, req: &RequestView<'_>) -> String {
        match req.header("x-amz-content-sha256") {
            Some(v) => v.to_string(),
            None if req.body.is_empty() => EMPTY_SHA256.to_string(),
            None => util::hex(&util::digest(Algorithm::Sha256, req.body)),
        }
    }

    /// Signs: returns `X-Amz-Date`, optionally `X-Amz-Security-Token` and
    /// `X-Amz-Content-SHA256`, and `Authorization`.
    pub(crate) fn sign(&self, secret: &[u8], req: &RequestView<'_>, now_ms: i64) -> Result<Vec<Header>, SigningError> {
        let amz_date = util::amz_date(now_ms.div_euclid(1000));
        let payload_hash = self.payload_hash(req);
        let mut added: Vec<Header> = vec![("X-Amz-Date".into(), amz_date.clone())];
        if let Some(token) = &self.session_token {
            let token = std::str::from_utf8(token.expose())
                .map_err(|_| SigningError::MalformedSecret("session token is not UTF-8".into()))?;
            added.push(("X-Amz-Security-Token".into(), token.to_string()));
        }
        if self.content_sha256_header && req.header("x-amz-content-sha256").is_none() {
            added.push(("X-Amz-Content-SHA256".into(), payload_hash.clone()));
        }
        let replaced: Vec<String> = added.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        let mut pairs: Vec<(String, &str)> = req
            .headers
            .iter()
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.as_str()))
            .filter(|(n, _)| !UNSIGNED.contains(&n.as_str()) && !replaced.contains(n))
            .collect();
        if !pairs.iter().any(|(n, _)| n == "host") {
            let host = req.authority().ok_or_else(|| SigningError::Request("no Host header or authority".into()))?;
            pairs.push(("host".into(), host));
        }
        for (n, v) in &added {
            pairs.push((n.to_ascii_lowercase(), v.as_str()));
        }
        let (creq, signed) = self.canonical_request(req, &pairs, &payload_hash);
        let (key, sts) = self.key_and_string_to_sign(secret, &amz_date, &self.region, &self.service, &creq);
        let sig = util::hex(&util::mac(Algorithm::Sha256, &key, &[sts.as_bytes()]));
        let day = &amz_date[..8];
        added.push((
            "Authorization".into(),
            format!(
                "{ALGORITHM} Credential={}/{day}/{}/{}/aws4_request, SignedHeaders={signed}, Signature={sig}",
                self.access_key_id, self.region, self.service
            ),
        ));
        Ok(added)
    }

    /// Verifies the Authorization header; returns the signature as replay key
    /// and the `X-Amz-Date` instant.
    pub(crate) fn verify(
        &self,
        secret: &[u8],
        req: &RequestView<'_>,
        now_ms: i64,
        tolerance_secs: u64,
    ) -> Result<(String, Option<i64>), VerifyError> {
        let value = req.header("authorization").ok_or_else(|| VerifyError::MissingSignature("Authorization".into()))?;
        let auth = parse_authorization(value).ok_or_else(|| VerifyError::Malformed {
            what: "Authorization".into(),
            reason: "not an AWS4-HMAC-SHA256 header".into(),
        })?;
        if auth.access_key_id != self.access_key_id || auth.region != self.region || auth.service != self.service {
            return Err(VerifyError::Policy("credential scope names another key, region or service".into()));
        }
        let amz_date = req.header("x-amz-date").ok_or_else(|| VerifyError::MissingHeader("X-Amz-Date".into()))?;
        let secs = util::parse_amz_date(amz_date).ok_or_else(|| VerifyError::Malformed {
            what: "X-Amz-Date".into(),
            reason: "expected YYYYMMDDTHHMMSSZ".into(),
        })?;
        if amz_date.get(..8) != Some(auth.date) {
            return Err(VerifyError::Policy("credential date differs from X-Amz-Date".into()));
        }
        crate::custom::check_window(secs.saturating_mul(1000), now_ms, tolerance_secs)?;
        for required in ["host", "x-amz-date"] {
            if !auth.signed_headers.contains(&required) {
                return Err(VerifyError::Policy(format!("`{required}` is not signed")));
            }
        }
        let mut pairs = Vec::new();
        for name in &auth.signed_headers {
            let values = req.header_values(name);
            if values.is_empty() {
                if *name == "host"
                    && let Some(a) = req.authority()
                {
                    pairs.push(("host".to_string(), a));
                    continue;
                }
                return Err(VerifyError::MissingHeader((*name).to_string()));
            }
            pairs.extend(values.into_iter().map(|v| ((*name).to_string(), v)));
        }
        let payload_hash = self.payload_hash(req);
        if payload_hash != "UNSIGNED-PAYLOAD"
            && req.header("x-amz-content-sha256").is_some()
            && payload_hash != util::hex(&util::digest(Algorithm::Sha256, req.body))
        {
            return Err(VerifyError::DigestMismatch);
        }
        let (creq, _) = self.canonical_request(req, &pairs, &payload_hash);
        let (key, sts) = self.key_and_string_to_sign(secret, amz_date, auth.region, auth.service, &creq);
        let received = util::Encoding::Hex.decode(auth.signature).ok_or(VerifyError::Mismatch)?;
        if !util::mac_verify(Algorithm::Sha256, &key, &[sts.as_bytes()], &received) {
            return Err(VerifyError::Mismatch);
        }
        Ok((auth.signature.to_string(), Some(secs.saturating_mul(1000))))
    }
}

/// RFC 3986 dot-segment removal plus collapsing of empty segments, as AWS
/// services do for non-S3 paths.
fn remove_dot_segments(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let lead = if path.starts_with('/') { "/" } else { "" };
    let trail = if path.ends_with('/') && !out.is_empty() { "/" } else { "" };
    format!("{lead}{}{trail}", out.join("/"))
}

/// The canonical query string of a query as sent (without `?`).
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (util::uri_encode(&util::percent_decode(k), false), util::uri_encode(&util::percent_decode(v), false))
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments() {
        assert_eq!(remove_dot_segments("//example//"), "/example/");
        assert_eq!(remove_dot_segments("/example/.."), "/");
        assert_eq!(remove_dot_segments("/example1/example2/../.."), "/");
        assert_eq!(remove_dot_segments("/./"), "/");
        assert_eq!(remove_dot_segments(""), "/");
    }

    #[test]
    fn query() {
        assert_eq!(canonical_query("Param2=value2&Param1=value1"), "Param1=value1&Param2=value2");
        assert_eq!(canonical_query("Param1=value2&Param1=Value1"), "Param1=Value1&Param1=value2");
        assert_eq!(canonical_query("a=b c&x"), "a=b%20c&x=");
        assert_eq!(canonical_query("k=%2f+"), "k=%2F%2B");
    }
}

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
//! comparison of the whole MAC, a 300 s window and a nonce store (in the lab
//! database, one atomic insert) consulted only after the MAC checks out. Each vulnerable setting removes one of those
//! properties, the way real services get it wrong.

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
    /// Refuse a nonce seen before (kept in the lab database).
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
    /// The nonce store could not be reached: fail closed.
    StoreUnavailable,
}

impl Refusal {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refusal::Missing => "missing signature",
            Refusal::Malformed => "malformed signature headers",
            Refusal::BadSignature => "invalid signature",
            Refusal::Stale => "timestamp outside the accepted window",
            Refusal::Replayed => "nonce already used",
            Refusal::StoreUnavailable => "cannot check the nonce",
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
    /// The lab database's `seen_nonces`, under this verifier's scope.
    nonces: Option<NonceStore>,
}

/// Nonces already accepted, in the lab database.
#[derive(Debug)]
struct NonceStore {
    pool: sqlx::SqlitePool,
    /// Keeps verifiers sharing the database apart.
    scope: String,
}

/// A verified request's freshness fields, for the nonce store.
pub(crate) struct Fresh {
    nonce: String,
    signed_at: i64,
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
    /// A verifier; `pool` and `scope` hold its nonces when the settings keep a store.
    pub(crate) fn new(settings: VerifierSettings, pool: sqlx::SqlitePool, scope: impl Into<String>) -> LabVerifier {
        let nonces = settings.nonce_store.then(|| NonceStore { pool, scope: scope.into() });
        LabVerifier { settings, nonces }
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

    /// Checks the MAC and the window. The nonce is remembered only by
    /// [`Self::remember`], after this succeeds, so forged requests cannot
    /// fill the store.
    pub(crate) fn check(&self, r: &Received<'_>) -> Result<Option<Fresh>, Refusal> {
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
        if !freshness {
            return Ok(None);
        }
        let signed_at: i64 = timestamp.parse().map_err(|_| Refusal::Malformed)?;
        if let Some(window) = self.settings.window_secs
            && (now_secs() - signed_at).unsigned_abs() > window
        {
            return Err(Refusal::Stale);
        }
        Ok(Some(Fresh { nonce, signed_at }))
    }

    /// The verdict on a request [`Self::check`] passed or refused: a
    /// passed one still needs its nonce to be new.
    pub(crate) async fn settle(&self, checked: Result<Option<Fresh>, Refusal>) -> Result<(), Refusal> {
        self.remember(checked?).await
    }

    /// Records the nonce of a verified request; refuses one already used.
    /// One statement, so two concurrent uses of a nonce cannot both pass.
    pub(crate) async fn remember(&self, fresh: Option<Fresh>) -> Result<(), Refusal> {
        let (Some(store), Some(fresh)) = (&self.nonces, fresh) else { return Ok(()) };
        // Entries older than the window can go: their timestamp is refused anyway.
        if let Some(window) = self.settings.window_secs {
            let horizon = now_secs() - window as i64 - 1;
            let _ = sqlx::query("DELETE FROM seen_nonces WHERE scope = ? AND signed_at < ?")
                .bind(&store.scope)
                .bind(horizon)
                .execute(&store.pool)
                .await;
        }
        let inserted =
            sqlx::query("INSERT INTO seen_nonces (scope, nonce, signed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(&store.scope)
                .bind(&fresh.nonce)
                .bind(fresh.signed_at)
                .execute(&store.pool)
                .await
                .map_err(|_| Refusal::StoreUnavailable)?;
        if inserted.rows_affected() == 1 { Ok(()) } else { Err(Refusal::Replayed) }
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
pub(crate) async fn verify_actix(
    verifier: &LabVerifier,
    request: &actix_web::HttpRequest,
    body: &[u8],
) -> Option<actix_web::HttpResponse> {
    let checked = {
        let header = |name: &str| -> Vec<String> {
            request.headers().get_all(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect()
        };
        verifier.check(&Received {
            method: request.method().as_str(),
            path: request.uri().path(),
            query: request.uri().query().unwrap_or(""),
            header: &header,
            body,
        })
    };
    verifier
        .settle(checked)
        .await
        .err()
        .map(|refusal| actix_web::HttpResponse::Unauthorized().json(serde_json::json!({"error": refusal.message()})))
}

/// axum adapter: verifies a request from its parts and body as received;
/// the 401 to answer when it fails.
pub(crate) async fn verify_axum(
    verifier: &LabVerifier,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Option<axum::response::Response> {
    use axum::response::IntoResponse;
    let checked = {
        let header = |name: &str| -> Vec<String> {
            headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect()
        };
        verifier.check(&Received {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query().unwrap_or(""),
            header: &header,
            body,
        })
    };
    verifier.settle(checked).await.err().map(|refusal| {
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

    fn signed(
        v: &LabVerifier,
        key: &[u8],
        query: &str,
        at: i64,
        nonce: &str,
        cut: usize,
    ) -> Vec<(&'static str, String)> {
        let sig = v.sign(key, &received(&|_| Vec::new(), query), at, nonce);
        vec![
            (SIGNATURE_HEADER, sig[..sig.len() - cut].to_string()),
            (TIMESTAMP_HEADER, at.to_string()),
            (NONCE_HEADER, nonce.into()),
        ]
    }

    async fn verifier(settings: VerifierSettings) -> (LabVerifier, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let pool = crate::db::open(dir.path(), &tokio::runtime::Handle::current()).unwrap();
        (LabVerifier::new(settings, pool, "test"), dir)
    }

    async fn verify(v: &LabVerifier, headers: Vec<(&'static str, String)>, query: &str) -> Result<(), Refusal> {
        let fresh = {
            let h = headers_of(headers);
            v.check(&received(&h, query))
        }?;
        v.remember(fresh).await
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_fixed_verifier_refuses_tampering_staleness_and_replay() {
        let (v, _dir) = verifier(VerifierSettings::fixed(b"k".to_vec())).await;
        let now = now_secs();
        let h = signed(&v, b"k", "a=1", now, "n1", 0);
        assert_eq!(verify(&v, h.clone(), "a=2").await, Err(Refusal::BadSignature));
        assert_eq!(verify(&v, h.clone(), "a=1").await, Ok(()));
        assert_eq!(verify(&v, h, "a=1").await, Err(Refusal::Replayed));
        let old = now - 301;
        assert_eq!(verify(&v, signed(&v, b"k", "", old, "n2", 44), "").await, Err(Refusal::BadSignature));
        assert_eq!(verify(&v, signed(&v, b"k", "", old, "n2", 0), "").await, Err(Refusal::Stale));
        assert_eq!(verify(&v, signed(&v, b"", "", now, "n3", 0), "").await, Err(Refusal::BadSignature));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn each_vulnerable_setting_lets_its_flaw_through() {
        let fixed = VerifierSettings::fixed(b"k".to_vec());
        let now = now_secs();
        let (v, _d) = verifier(VerifierSettings { compare: Compare::SentPrefix, ..fixed.clone() }).await;
        assert_eq!(verify(&v, signed(&v, b"k", "", now, "n1", 50), "").await, Ok(()));
        let (v, _d) = verifier(VerifierSettings { window_secs: None, ..fixed.clone() }).await;
        assert_eq!(verify(&v, signed(&v, b"k", "", now - 86_400, "n1", 0), "").await, Ok(()));
        let (v, _d) = verifier(VerifierSettings { keys: vec![b"k".to_vec(), Vec::new()], ..fixed.clone() }).await;
        assert_eq!(verify(&v, signed(&v, b"", "", now, "n1", 0), "").await, Ok(()));
        let (v, _d) = verifier(VerifierSettings { coverage: Coverage::BodyOnly, ..fixed.clone() }).await;
        assert_eq!(verify(&v, signed(&v, b"k", "a=1", now, "n1", 0), "a=2").await, Ok(()));
    }
}

//! What the signer sees: the request exactly as it will go on the wire, plus
//! the clock and nonce source that tests fix.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// One header line: name as sent, value as sent.
pub type Header = (String, String);

/// A request as it will be sent. Signing is the last step, over exactly these
/// values: nothing here is re-encoded or normalised before it is signed, and
/// the scheme's own canonicalisation (SigV4, RFC 9421) works from them.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// Method as sent (`GET`, `post`...): not upper-cased, so a probe that
    /// sends a lower-case method signs what it sends.
    pub method: &'a str,
    /// `http` or `https`; used by RFC 9421 `@scheme` / `@target-uri`.
    pub scheme: &'a str,
    /// Host and optional port (HTTP/2 `:authority`, or the Host header).
    /// When `None`, the `Host` header is used.
    pub authority: Option<&'a str>,
    /// The request-target as sent: path plus `?query`, not re-encoded.
    pub target: &'a str,
    /// Header lines in order; a name may repeat.
    pub headers: &'a [Header],
    /// Body bytes as sent.
    pub body: &'a [u8],
}

impl<'a> RequestView<'a> {
    /// The path part of the request-target (before `?`).
    pub fn path(&self) -> &'a str {
        match self.target.split_once('?') {
            Some((path, _)) => path,
            None => self.target,
        }
    }

    /// The query part of the request-target, without `?` (`None` when the
    /// target has no `?`).
    pub fn query(&self) -> Option<&'a str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// All values of a header, case-insensitively, in order.
    pub fn header_values(&self, name: &str) -> Vec<&'a str> {
        self.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect()
    }

    /// The first value of a header, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The authority: the explicit one, else the `Host` header.
    pub fn authority(&self) -> Option<&'a str> {
        self.authority.or_else(|| self.header("host"))
    }
}

/// Headers a signer produced. The caller replaces any header of the same
/// name (case-insensitively) and then sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureHeaders(pub Vec<Header>);

impl SignatureHeaders {
    /// The value produced for `name`, case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Replaces (case-insensitively) or appends these headers in `headers`.
    pub fn apply_to(&self, headers: &mut Vec<Header>) {
        for (name, value) in &self.0 {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            headers.push((name.clone(), value.clone()));
        }
    }
}

/// Wall clock, injectable so tests and published vectors can fix time.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock stopped at a given instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl FixedClock {
    /// A clock stopped at `secs` seconds after the epoch.
    pub fn from_secs(secs: i64) -> FixedClock {
        FixedClock(secs.saturating_mul(1000))
    }
}

impl Clock for FixedClock {
    fn now_unix_ms(&self) -> i64 {
        self.0
    }
}

/// Source of nonces (and Standard Webhooks message ids).
pub trait NonceSource: Send + Sync {
    /// A fresh nonce.
    fn next_nonce(&self) -> String;
}

/// 128 random bits from the OS, hex-encoded. Falls back to a process-unique
/// counter mixed with the time if the OS has no randomness to give, because
/// a nonce must be unique, and signing must not panic.
#[derive(Debug, Default)]
pub struct RandomNonce {
    counter: AtomicU64,
}

impl NonceSource for RandomNonce {
    fn next_nonce(&self) -> String {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_err() {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            bytes[..8].copy_from_slice(&n.to_be_bytes());
            bytes[8..].copy_from_slice(&SystemClock.now_unix_ms().to_be_bytes());
        }
        crate::util::hex(&bytes)
    }
}

/// Always the same nonce (tests, published vectors).
#[derive(Debug, Clone)]
pub struct FixedNonce(pub String);

impl NonceSource for FixedNonce {
    fn next_nonce(&self) -> String {
        self.0.clone()
    }
}

/// Replay hook for verifiers: remembers what was accepted.
pub trait NonceStore: Send + Sync {
    /// Records `key` and returns `true` if it was not seen before. `key` is
    /// the nonce when the scheme carries one, else the signature itself.
    /// `timestamp_ms` is the signed timestamp, if any, so a store can expire
    /// entries older than the window.
    fn check_and_remember(&self, key: &str, timestamp_ms: Option<i64>) -> bool;
}

/// An in-memory [`NonceStore`] with no expiry (fine for a lab service's
/// lifetime; a long-running service should expire by timestamp).
#[derive(Debug, Default)]
pub struct MemoryNonceStore {
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl NonceStore for MemoryNonceStore {
    fn check_and_remember(&self, key: &str, _timestamp_ms: Option<i64>) -> bool {
        // A poisoned lock still holds a valid set: keep going rather than panic.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert(key.to_string())
    }
}

//! mortar's network engine.
//!
//! Checks hand it [`Request`]s; it applies the identity, enforces the scan's
//! limits (scope, concurrency, rate, per-request timeout, whole-scan deadline,
//! request budget, 429 back-off, body cap), speaks HTTP/1.1 as exact bytes or
//! HTTP/2 through `h2`, over rustls (ring) with a TLS configuration per
//! connection when asked, and turns exchanges into redacted [`Evidence`].
//!
//! [`Evidence`]: mortar_model::Evidence

pub mod burst;
mod connect;
mod engine;
pub mod gate;
pub mod h1;
pub mod io;
mod outage;
pub mod redact;
pub mod request;
pub mod tls;

pub use burst::{BurstMode, BurstOptions, BurstReport, BurstResponse};
pub use engine::{Engine, EngineConfig, ProxyConfig};
pub use gate::{GateWrapper, WriteGate};
pub use io::{BoxIo, CountingWrapper, IoWrapper, WriteCounter};
pub use outage::Outage;
pub use redact::Redactor;
pub use request::{Exchange, HttpVersion, HttpVersionPref, Origin, Request, RequestOptions, Response, SentRequest};
pub use tls::{CertVerdict, TlsInfo, TlsSettings};

use std::time::Duration;

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The host is not the target's nor a `--scope-host`.
    #[error("`{host}` is out of scope (add it with --scope-host)")]
    OutOfScope {
        /// The refused host.
        host: String,
    },
    /// `--max-requests` was reached.
    #[error("the request budget of {limit} is spent (--max-requests)")]
    BudgetExhausted {
        /// The budget.
        limit: u64,
    },
    /// `--max-time` was reached.
    #[error("the scan deadline was reached (--max-time)")]
    DeadlineReached,
    /// The per-request timeout (or the deadline) ran out while waiting.
    #[error("no complete response within {0:?}")]
    Timeout(Duration),
    /// TCP connect failed.
    #[error("cannot connect to {addr}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed (or the server rejected it).
    #[error("TLS handshake failed")]
    Tls(#[source] std::io::Error),
    /// A TLS configuration could not be built (bad PEM, bad key).
    #[error("TLS configuration: {0}")]
    TlsConfig(String),
    /// Reading or writing failed.
    #[error("connection error")]
    Io(#[source] std::io::Error),
    /// The server closed the connection without answering.
    #[error("the server closed the connection without a response")]
    ClosedWithoutResponse,
    /// The answer was not HTTP.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// An HTTP/2 protocol error.
    #[error("HTTP/2 error")]
    H2(#[source] h2::Error),
    /// The proxy refused or failed.
    #[error("proxy: {0}")]
    Proxy(String),
    /// The request cannot be expressed (e.g. a target HTTP/2 cannot carry).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The scan's profile does not allow the method: only the active profile
    /// sends methods other than GET, HEAD and OPTIONS. Nothing was sent.
    #[error("{method} requests are sent only in the active profile (this scan: {profile})")]
    ProfileForbids {
        /// The refused method.
        method: String,
        /// The scan's profile.
        profile: mortar_model::Profile,
    },
    /// The identity stopped working earlier in the scan (a destructive
    /// request removed or logged it out) and could not be restored. Nothing was sent.
    #[error("identity `{identity}` was lost after {after}; the request was not sent")]
    IdentityLost {
        /// The identity.
        identity: String,
        /// The request after which it stopped working.
        after: String,
    },
    /// The identity's signer refused the request (the message never holds the key).
    #[error("cannot sign the request as `{identity}`")]
    Signing {
        /// The identity.
        identity: String,
        /// Why.
        #[source]
        source: mortar_signing::SigningError,
    },
}

impl EngineError {
    /// Whether this is a limit of the scan itself rather than the target's doing.
    pub fn is_scan_limit(&self) -> bool {
        matches!(
            self,
            EngineError::OutOfScope { .. }
                | EngineError::BudgetExhausted { .. }
                | EngineError::DeadlineReached
                | EngineError::ProfileForbids { .. }
                | EngineError::IdentityLost { .. }
        )
    }

    /// The error and its sources on one line.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

//! Typed errors. No variant carries secret material: messages name a source
//! (an environment variable, a file path) or a header, never a key or a MAC.

use thiserror::Error;

/// Why a configuration could not be turned into a signer, or a request could
/// not be signed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SigningError {
    /// The `[identities.NAME.signing]` table is inconsistent.
    #[error("signing configuration: {0}")]
    Config(String),
    /// A string-to-sign template or signature format does not parse.
    #[error("signing template `{template}`: {reason}")]
    Template {
        /// The template text (templates hold no secrets).
        template: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The secret could not be read from where the configuration points.
    #[error("signing secret from {source_desc}: {reason}")]
    SecretUnavailable {
        /// `env:NAME` or `@PATH`, never the value.
        source_desc: String,
        /// What went wrong (not found, unreadable, empty).
        reason: String,
    },
    /// The secret was read but has the wrong shape (e.g. a `whsec_` secret
    /// that is not base64). The value itself is never shown.
    #[error("signing secret is malformed: {0}")]
    MalformedSecret(String),
    /// The request lacks a header the scheme signs over.
    #[error("header `{0}` is signed by this scheme but missing from the request")]
    MissingHeader(String),
    /// The request cannot be signed as given (bad request-target, no authority...).
    #[error("request cannot be signed: {0}")]
    Request(String),
}

/// Why a signed request was rejected by a [`crate::Verifier`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The header that should carry the signature is absent.
    #[error("signature header `{0}` is missing")]
    MissingSignature(String),
    /// A header the scheme needs (timestamp, nonce, signed header) is absent.
    #[error("header `{0}` is missing")]
    MissingHeader(String),
    /// A signature-related header does not parse.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which value (header name or field).
        what: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The signature does not match the request.
    #[error("signature does not match")]
    Mismatch,
    /// The timestamp is outside the accepted window.
    #[error("timestamp is {skew_secs} s away from now, outside the {tolerance_secs} s window")]
    Stale {
        /// Distance from the verifier's clock, in seconds.
        skew_secs: i64,
        /// The configured tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// The signature has expired (RFC 9421 `expires`).
    #[error("signature expired")]
    Expired,
    /// The nonce (or signature, for schemes without one) was seen before.
    #[error("replayed nonce or signature")]
    Replayed,
    /// The signature does not cover something the policy requires, or names
    /// another key, region or service.
    #[error("signature policy: {0}")]
    Policy(String),
    /// The body does not match its `Content-Digest`.
    #[error("content-digest does not match the body")]
    DigestMismatch,
}

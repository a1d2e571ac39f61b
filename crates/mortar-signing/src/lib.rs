//! HMAC request signing for mortar.
//!
//! An identity in mortar.toml may sign its requests (`[identities.NAME.signing]`,
//! see [`SigningConfig`]). A [`Signer`] turns a [`RequestView`] — the request
//! exactly as it will go on the wire — into the headers to add; the engine
//! calls it last, after every other change, so the signature covers the bytes
//! sent. A [`Verifier`] checks the same schemes for the lab's services.
//!
//! Schemes: a template scheme ([`CustomScheme`]) with the GitHub, Stripe,
//! Slack and Standard Webhooks presets, AWS SigV4 ([`AwsSigV4`]) and RFC 9421
//! HTTP Message Signatures with hmac-sha256 ([`Rfc9421`]).
//!
//! Secrets are [`SigningSecret`]s (printed as `***`) read from `env:NAME` or
//! `@PATH` ([`SecretRef`]); no error message contains one.

#![deny(missing_docs)]

mod aws;
mod config;
mod custom;
mod error;
mod request;
mod rfc9421;
mod secret;
mod signer;
mod util;

pub use aws::{AwsSigV4, canonical_query};
pub use config::{DEFAULT_TOLERANCE_SECS, Preset, Scheme, SigningConfig};
pub use custom::{CustomScheme, SecretEncoding, SignatureFormat, Template, TimestampFormat};
pub use error::{SigningError, VerifyError};
pub use request::{
    Clock, FixedClock, FixedNonce, Header, MemoryNonceStore, NonceSource, NonceStore, RandomNonce, RequestView,
    SignatureHeaders, SystemClock,
};
pub use rfc9421::Rfc9421;
pub use secret::{SecretRef, SigningSecret};
pub use signer::{Signer, Verified, Verifier};
pub use util::{Algorithm, Encoding};

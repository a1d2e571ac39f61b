//! Signer and verifier: a scheme, a decoded key, a clock and a nonce source.

use std::fmt;
use std::sync::Arc;

use crate::config::{DEFAULT_TOLERANCE_SECS, Scheme, SigningConfig};
use crate::error::{SigningError, VerifyError};
use crate::request::{Clock, NonceSource, NonceStore, RandomNonce, RequestView, SignatureHeaders, SystemClock};
use crate::secret::{SecretRef, SigningSecret};

fn decode_key(scheme: &Scheme, secret: &SigningSecret) -> Result<SigningSecret, SigningError> {
    if secret.is_empty() {
        return Err(SigningError::MalformedSecret("secret is empty".into()));
    }
    Ok(SigningSecret::new(scheme.secret_encoding().decode(secret.expose())?))
}

/// Signs requests. Call it last, on the exact bytes that will be sent.
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    key: SigningSecret,
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceSource>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").field("scheme", &self.scheme).field("key", &self.key).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `scheme` keyed by `secret` (as read; decoded here per the
    /// scheme's secret encoding), on the system clock with random nonces.
    pub fn new(scheme: Scheme, secret: &SigningSecret) -> Result<Signer, SigningError> {
        Ok(Signer {
            key: decode_key(&scheme, secret)?,
            scheme,
            clock: Arc::new(SystemClock),
            nonces: Arc::new(RandomNonce::default()),
        })
    }

    /// A signer keyed with raw `key` bytes as they are, the empty key
    /// included: for probing whether a verifier accepts a guessed key.
    pub fn with_guessed_key(scheme: Scheme, key: &[u8]) -> Signer {
        Signer {
            key: SigningSecret::new(key.to_vec()),
            scheme,
            clock: Arc::new(SystemClock),
            nonces: Arc::new(RandomNonce::default()),
        }
    }

    /// Builds from a config table, reading secrets from the environment or files.
    pub fn from_config(config: &SigningConfig) -> Result<Signer, SigningError> {
        let scheme = config.scheme(&mut SecretRef::resolve)?;
        Signer::new(scheme, &config.secret_ref()?.resolve()?)
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Signer {
        self.clock = clock;
        self
    }

    /// Replaces the nonce source.
    pub fn with_nonce_source(mut self, nonces: Arc<dyn NonceSource>) -> Signer {
        self.nonces = nonces;
        self
    }

    /// The scheme.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// The headers to add or replace so that `req` carries a valid signature.
    pub fn sign(&self, req: &RequestView<'_>) -> Result<SignatureHeaders, SigningError> {
        let now = self.clock.now_unix_ms();
        let nonce = || self.nonces.next_nonce();
        let key = self.key.expose();
        let headers = match &self.scheme {
            Scheme::Custom(c) => c.sign(key, req, now, &nonce)?,
            Scheme::AwsSigV4(a) => a.sign(key, req, now)?,
            Scheme::Rfc9421(r) => r.sign(key, req, now, &nonce)?,
        };
        Ok(SignatureHeaders(headers))
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The signed timestamp, in Unix milliseconds, when the scheme has one.
    pub timestamp_ms: Option<i64>,
    /// What was checked against the replay store: the nonce when the scheme
    /// carries one, else the signature text.
    pub replay_key: String,
}

/// Checks signed requests (for the lab's fixed services).
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    key: SigningSecret,
    clock: Arc<dyn Clock>,
    tolerance_secs: u64,
    nonce_store: Option<Arc<dyn NonceStore>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("key", &self.key)
            .field("tolerance_secs", &self.tolerance_secs)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier on the system clock, five-minute window, no replay store.
    pub fn new(scheme: Scheme, secret: &SigningSecret) -> Result<Verifier, SigningError> {
        Ok(Verifier {
            key: decode_key(&scheme, secret)?,
            scheme,
            clock: Arc::new(SystemClock),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
            nonce_store: None,
        })
    }

    /// Builds from a config table, reading secrets from the environment or files.
    pub fn from_config(config: &SigningConfig) -> Result<Verifier, SigningError> {
        let scheme = config.scheme(&mut SecretRef::resolve)?;
        Ok(Verifier::new(scheme, &config.secret_ref()?.resolve()?)?.with_tolerance_secs(config.tolerance_secs()))
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Verifier {
        self.clock = clock;
        self
    }

    /// Sets the accepted distance between the signed timestamp and now.
    pub fn with_tolerance_secs(mut self, secs: u64) -> Verifier {
        self.tolerance_secs = secs;
        self
    }

    /// Rejects nonces (or signatures) seen before.
    pub fn with_nonce_store(mut self, store: Arc<dyn NonceStore>) -> Verifier {
        self.nonce_store = Some(store);
        self
    }

    /// Verifies `req`. The signature is compared in constant time; the
    /// replay store is consulted only after the signature checks out, so
    /// forged requests cannot fill it.
    pub fn verify(&self, req: &RequestView<'_>) -> Result<Verified, VerifyError> {
        let now = self.clock.now_unix_ms();
        let key = self.key.expose();
        let (replay_key, timestamp_ms) = match &self.scheme {
            Scheme::Custom(c) => c.verify(key, req, now, self.tolerance_secs)?,
            Scheme::AwsSigV4(a) => a.verify(key, req, now, self.tolerance_secs)?,
            Scheme::Rfc9421(r) => r.verify(key, req, now, self.tolerance_secs)?,
        };
        if let Some(store) = &self.nonce_store
            && !store.check_and_remember(&replay_key, timestamp_ms)
        {
            return Err(VerifyError::Replayed);
        }
        Ok(Verified { timestamp_ms, replay_key })
    }
}

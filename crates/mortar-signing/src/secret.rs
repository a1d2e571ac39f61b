//! Secret material and where it comes from.

use std::fmt;

use serde::Deserialize;

use crate::error::SigningError;

/// Key bytes for HMAC. `Debug` and `Display` print `***` so that a derived
/// `Debug` on any struct holding one cannot leak it into logs or error chains.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl SigningSecret {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> SigningSecret {
        SigningSecret(bytes.into())
    }

    /// The key bytes, for the MAC only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret lives, as written in mortar.toml: `env:NAME` or `@PATH`.
///
/// A literal secret is refused at parse time, so a config file never holds
/// one and the parse error never repeats what was written.
/// Deserialising never fails on the value: a literal becomes
/// [`SecretRef::Refused`] and is reported when the config is validated,
/// because a deserialiser's error (toml's, for one) quotes the offending
/// line, which would print the secret.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum SecretRef {
    /// Read from this environment variable.
    Env(String),
    /// Read from this file (trailing CR/LF stripped).
    File(String),
    /// Something else was written (probably a literal secret). The text is
    /// dropped on the spot.
    Refused,
}

impl SecretRef {
    /// Parses `env:NAME` or `@PATH`.
    pub fn parse(text: &str) -> Result<SecretRef, SigningError> {
        if let Some(name) = text.strip_prefix("env:") {
            if name.is_empty() {
                return Err(SigningError::Config("secret `env:` needs a variable name".into()));
            }
            return Ok(SecretRef::Env(name.to_string()));
        }
        if let Some(path) = text.strip_prefix('@') {
            if path.is_empty() {
                return Err(SigningError::Config("secret `@` needs a file path".into()));
            }
            return Ok(SecretRef::File(path.to_string()));
        }
        // Deliberately does not echo `text`: it may be a pasted secret.
        Err(refused())
    }

    /// An error if this reference was refused (a literal).
    pub fn check(&self) -> Result<(), SigningError> {
        match self {
            SecretRef::Refused => Err(refused()),
            _ => Ok(()),
        }
    }

    /// A description safe to print: `env:NAME` or `@PATH`.
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("env:{name}"),
            SecretRef::File(path) => format!("@{path}"),
            SecretRef::Refused => "a literal value (refused)".into(),
        }
    }

    /// Reads the secret from the environment or the file.
    pub fn resolve(&self) -> Result<SigningSecret, SigningError> {
        let unavailable = |reason: String| SigningError::SecretUnavailable { source_desc: self.describe(), reason };
        let bytes = match self {
            SecretRef::Refused => return Err(refused()),
            SecretRef::Env(name) => match std::env::var_os(name) {
                Some(value) => value.into_encoded_bytes(),
                None => return Err(unavailable("variable is not set".into())),
            },
            SecretRef::File(path) => {
                // The io::Error text names only the OS condition, not contents.
                let mut bytes = std::fs::read(path).map_err(|e| unavailable(e.kind().to_string()))?;
                while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                    bytes.pop();
                }
                bytes
            }
        };
        if bytes.is_empty() {
            return Err(unavailable("secret is empty".into()));
        }
        Ok(SigningSecret::new(bytes))
    }
}

fn refused() -> SigningError {
    SigningError::Config("secret must be `env:NAME` or `@PATH`; literal secrets are not accepted".into())
}

impl From<String> for SecretRef {
    fn from(value: String) -> Self {
        SecretRef::parse(&value).unwrap_or(SecretRef::Refused)
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({})", self.describe())
    }
}

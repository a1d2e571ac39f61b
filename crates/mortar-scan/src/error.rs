//! Why a scan could not start or produce a report.

use std::fmt;

/// Bad input (options, files, the API description): the scan cannot start.
/// The message names what was wrong and what to do; callers print it as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(String);

impl InputError {
    /// An input error with its message.
    pub fn new(message: impl Into<String>) -> InputError {
        InputError(message.into())
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Why a scan could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Bad options or input files.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Not one HTTP response from the target.
    #[error("no HTTP response from {url}: {detail}")]
    NoResponse {
        /// Target URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// Every identity given was refused.
    #[error("no identity is accepted by {url}: {detail} (check the credentials)")]
    NoIdentityAccepted {
        /// Target URL.
        url: String,
        /// Per identity.
        detail: String,
    },
    /// The engine could not be built (TLS material).
    #[error("cannot prepare the scan")]
    Engine(#[from] mortar_engine::EngineError),
}

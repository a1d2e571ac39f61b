//! Errors at the edge: each becomes one line on stderr and an exit code.

use std::fmt;

/// Bad input from the user (flags, config, files): exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl UsageError {
    /// A usage error with its message.
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Exit codes of the contract.
pub mod exit {
    /// Success / every gate passed.
    pub const OK: i32 = 0;
    /// A gate failed (scan), a miss (demo), new findings (diff).
    pub const FAILED: i32 = 1;
    /// Could not run: bad input, no response, no identity accepted.
    pub const ERROR: i32 = 2;
}

/// The error and its causes on one line: `outer: inner: innermost`.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

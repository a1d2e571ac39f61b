//! Errors at the edge: each becomes one line on stderr and an exit code.

/// Bad input from the user (flags, config, files): exit code 2. The scan
/// library's own input error, so both sides speak one type.
pub use mortar_scan::InputError as UsageError;

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

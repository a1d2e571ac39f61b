//! The passive header checks' shared loop: the safe endpoints they read (at
//! most [`MAX_ENDPOINTS_PER_CHECK`]) and the verdict after trying them.

use crate::check::CheckVerdict;

/// Most endpoints a passive header check looks at: the issue is usually host-wide.
pub(crate) const MAX_ENDPOINTS_PER_CHECK: usize = 25;

/// The verdict after trying `tried` endpoints of which `failed` got no response.
pub(crate) fn verdict(what: &str, tried: usize, failed: usize, last_error: Option<String>) -> CheckVerdict {
    match (tried, failed) {
        (0, _) => CheckVerdict::Skipped("no endpoint reachable with a safe method".into()),
        (t, f) if f == t => CheckVerdict::Inconclusive(format!(
            "no response from any of {t} endpoint(s): {}",
            last_error.unwrap_or_default()
        )),
        (t, 0) => CheckVerdict::Ran(format!("{what} on {t} endpoint(s)")),
        (t, f) => CheckVerdict::Ran(format!("{what} on {} of {t} endpoint(s) ({f} did not answer)", t - f)),
    }
}

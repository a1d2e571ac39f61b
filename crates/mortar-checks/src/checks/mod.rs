//! One module per check; each exports `pub static CHECK: Check`.

pub mod bfla;
pub mod bola;
pub mod certificate;
pub mod cookie_flags;
pub mod cors_origin_bypass;
pub mod cors_reflected_origin;
pub mod dangerous_methods;
pub mod debug_endpoints;
pub mod deprecated_live;
pub mod documented_missing;
#[cfg(test)]
pub(crate) mod exchange_fixture;
pub(crate) mod exposure;
pub mod forged_token;
pub mod framework_fingerprint;
pub mod hsts;
pub mod jwt_weaknesses;
pub mod llm;
pub mod mtls_client_auth;
pub mod mtls_forged_cert;
pub mod mtls_identity_at_use;
pub mod mtls_proxy_headers;
pub mod mtls_revoked;
pub mod pii;
pub mod plaintext_http;
pub mod property_authorization;
pub mod race_plans;
pub mod rate_limit;
pub mod request_signing;
pub mod secrets_in_response;
pub mod security_headers;
pub mod security_not_enforced;
mod spec_drift;
pub mod spec_exposed;
pub mod ssrf;
pub mod stack_trace;
pub mod tls_posture;
pub mod unbounded_list;
pub mod undocumented_endpoints;
pub mod unversioned_api;
pub mod version_disclosure;

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

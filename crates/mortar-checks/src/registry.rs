//! The one list of checks.

use crate::check::Check;
use crate::checks;

/// Every check, in catalogue order. Adding a check is one line here.
pub static CHECKS: &[&Check] = &[
    &checks::cors_reflected_origin::CHECK,
    &checks::version_disclosure::CHECK,
    &checks::security_not_enforced::CHECK,
    &checks::forged_token::CHECK,
    &checks::bola::cross_identity_read::CHECK,
    &checks::bola::cross_identity_write::CHECK,
    &checks::bfla::CHECK,
    &checks::ssrf::canary_fetch::CHECK,
    &checks::unsafe_consumption::redirect_followed::CHECK,
    &checks::rate_limit::CHECK,
    &checks::unbounded_list::CHECK,
    &checks::llm::prompt_injection::CHECK,
    &checks::llm::system_prompt_leak::CHECK,
    &checks::property_authorization::excessive_exposure::CHECK,
    &checks::property_authorization::mass_assignment::CHECK,
    &checks::deprecated_live::CHECK,
    &checks::documented_missing::CHECK,
    &checks::undocumented_endpoints::CHECK,
    &checks::unversioned_api::CHECK,
    &checks::cors_origin_bypass::CHECK,
    &checks::dangerous_methods::CHECK,
    &checks::debug_endpoints::CHECK,
    &checks::security_headers::CHECK,
    &checks::hsts::CHECK,
    &checks::cookie_flags::CHECK,
    &checks::plaintext_http::CHECK,
    &checks::certificate::CHECK,
    &checks::framework_fingerprint::CHECK,
    &checks::spec_exposed::CHECK,
    &checks::stack_trace::CHECK,
    &checks::secrets_in_response::CHECK,
    &checks::pii::CHECK,
    &checks::jwt_weaknesses::CHECK,
    &checks::mtls_client_auth::CHECK,
    &checks::mtls_forged_cert::CHECK,
    &checks::mtls_revoked::CHECK,
    &checks::mtls_proxy_headers::CHECK,
    &checks::mtls_identity_at_use::CHECK,
    &checks::encryption::weak_tls::CHECK,
    &checks::encryption::early_data::CHECK,
    &checks::request_signing::signature_bypass::CHECK,
    &checks::request_signing::unsigned_component::CHECK,
    &checks::request_signing::replay::CHECK,
    &checks::request_signing::stale_timestamp::CHECK,
    &checks::request_signing::algorithm_downgrade::CHECK,
    &checks::request_signing::weak_secret::CHECK,
    &checks::race_condition::limit_overrun::CHECK,
    &checks::race_condition::toctou::CHECK,
];

/// Looks a check up by id.
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().copied().find(|c| c.info.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for check in CHECKS {
            let id = check.info.id;
            assert!(seen.insert(id), "duplicate check id {id}");
            let (category, slug) = id.split_once('.').expect("id is <category>.<slug>");
            assert_eq!(category, check.info.category.id(), "{id}: prefix must be its category");
            assert!(
                !slug.is_empty() && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{id}"
            );
        }
    }

    #[test]
    fn every_check_is_documented() {
        for check in CHECKS {
            let i = &check.info;
            assert!(i.title.len() > 10 && !i.title.ends_with('.'), "{}: title", i.id);
            assert!(i.description.len() > 40, "{}: description", i.id);
            assert!(!i.remediation.summary.is_empty(), "{}: remediation summary", i.id);
            assert!(
                i.remediation.actix_web.len() > 20 && i.remediation.axum.len() > 20,
                "{}: framework remediation",
                i.id
            );
            assert!(!i.references.owasp_api.is_empty() && !i.references.cwe.is_empty(), "{}: references", i.id);
            for r in i.references.owasp_api {
                assert!(r.starts_with("API") && r.ends_with(":2023"), "{}: {r}", i.id);
            }
            for r in i.references.cwe {
                assert!(r.starts_with("CWE-"), "{}: {r}", i.id);
            }
        }
    }
}

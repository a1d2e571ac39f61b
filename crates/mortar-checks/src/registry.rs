//! The one list of checks.

use crate::check::Check;
use crate::checks;

/// Every check, in catalogue order. Adding a check is one line here.
pub static CHECKS: &[&Check] = &[
    &checks::misconfiguration::cors_reflected_origin::CHECK,
    &checks::inventory::version_disclosure::CHECK,
    &checks::authentication::security_not_enforced::CHECK,
    &checks::authentication::forged_token_accepted::CHECK,
    &checks::bola::cross_identity_read::CHECK,
    &checks::bola::cross_identity_write::CHECK,
    &checks::bfla::privileged_operation::CHECK,
    &checks::ssrf::canary_fetch::CHECK,
    &checks::unsafe_consumption::redirect_followed::CHECK,
    &checks::rate_limiting::sensitive_operation_unlimited::CHECK,
    &checks::rate_limiting::unbounded_response::CHECK,
    &checks::llm::prompt_injection::CHECK,
    &checks::llm::system_prompt_leak::CHECK,
    &checks::property_authorization::excessive_exposure::CHECK,
    &checks::property_authorization::mass_assignment::CHECK,
    &checks::inventory::deprecated_operation_live::CHECK,
    &checks::inventory::documented_operation_missing::CHECK,
    &checks::inventory::undocumented_endpoints::CHECK,
    &checks::inventory::unversioned_api::CHECK,
    &checks::misconfiguration::cors_origin_bypass::CHECK,
    &checks::misconfiguration::dangerous_methods::CHECK,
    &checks::misconfiguration::debug_endpoints::CHECK,
    &checks::misconfiguration::security_headers::CHECK,
    &checks::encryption::hsts::CHECK,
    &checks::encryption::cookie_flags::CHECK,
    &checks::encryption::plaintext_http::CHECK,
    &checks::encryption::certificate::CHECK,
    &checks::inventory::framework_fingerprint::CHECK,
    &checks::inventory::spec_exposed::CHECK,
    &checks::data_exposure::stack_trace::CHECK,
    &checks::data_exposure::secrets_in_response::CHECK,
    &checks::data_exposure::pii::CHECK,
    &checks::authentication::jwt_weaknesses::CHECK,
    &checks::mtls::optional_client_auth::CHECK,
    &checks::mtls::forged_client_cert::CHECK,
    &checks::mtls::revoked_cert_accepted::CHECK,
    &checks::mtls::proxy_header_trust::CHECK,
    &checks::mtls::cert_identity_not_enforced::CHECK,
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

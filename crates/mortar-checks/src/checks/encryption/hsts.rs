//! HTTPS responses without Strict-Transport-Security, or with a short max-age.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::{Page, baselines};
use mortar_engine::{Request, Response};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// 180 days: the least max-age worth having (and what scanners commonly require).
pub const MIN_MAX_AGE: u64 = 15_552_000;

/// What is wrong with a response's HSTS policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HstsIssue {
    /// No (valid) Strict-Transport-Security header.
    Missing,
    /// A max-age below [`MIN_MAX_AGE`] (0 disables HSTS).
    Weak(u64),
}

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "encryption.hsts",
        category: Category::Encryption,
        severity: Severity::Medium,
        profile: Profile::Passive,
        title: "HTTP Strict Transport Security missing or weak",
        description: "Reads the API's HTTPS responses and reports those without a valid Strict-Transport-Security \
            header (medium), or whose max-age is below 15552000 seconds (180 days; low). Without HSTS a client \
            that once follows an http:// link can be downgraded to plaintext and have its credentials \
            intercepted. Plain-HTTP targets are skipped (see encryption.plaintext-http).",
        remediation: Remediation {
            summary: "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every HTTPS response.",
            actix_web: "Wrap the App with `DefaultHeaders::new().add((\"Strict-Transport-Security\", \
                \"max-age=31536000; includeSubDomains\"))` (or set it in the TLS-terminating proxy: nginx \
                `add_header Strict-Transport-Security \"max-age=31536000; includeSubDomains\" always;`).",
            axum: "Add tower-http `SetResponseHeaderLayer::overriding(STRICT_TRANSPORT_SECURITY, \
                HeaderValue::from_static(\"max-age=31536000; includeSubDomains\"))` with `.layer(..)` so every \
                response, 404s included, carries it.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-319", "CWE-523"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !ctx.origin.https {
        return CheckVerdict::Skipped("the target is plain HTTP: HSTS only applies to HTTPS responses".into());
    }
    let read = baselines(&ctx, CHECK.info.id).await;
    for Page { endpoint, exchange } in &read.pages {
        let Some(issue) = hsts_issue(&exchange.response) else { continue };
        let request = Request::get(&ctx.origin, endpoint.path.clone()).identity(ctx.primary_identity());
        let (component, severity, description, note) = match issue {
            HstsIssue::Missing => (
                "missing",
                Severity::Medium,
                format!(
                    "GET {} over HTTPS answers {} without a valid Strict-Transport-Security header: clients are \
                     never told to refuse plaintext for this host.",
                    endpoint.path, exchange.response.status
                ),
                "The HTTPS response has no valid Strict-Transport-Security header.".to_string(),
            ),
            HstsIssue::Weak(age) => (
                "max-age",
                Severity::Low,
                format!(
                    "GET {} sends Strict-Transport-Security with max-age={age} ({} days), below the 180 days \
                     (15552000 s) needed for the policy to outlive the gaps between a client's visits.",
                    endpoint.path,
                    age / 86_400
                ),
                format!("Strict-Transport-Security max-age={age} is below 15552000."),
            ),
        };
        reporter.observe(Observation {
            endpoint: Some(endpoint.clone()),
            component: Some(component.to_string()),
            severity: Some(severity),
            confidence: Confidence::Confirmed,
            title: Some(match issue {
                HstsIssue::Missing => "Strict-Transport-Security header missing".to_string(),
                HstsIssue::Weak(_) => "Strict-Transport-Security max-age too short".to_string(),
            }),
            description,
            evidence: vec![ctx.evidence(exchange, note)],
            reproduce: ctx.curl(&request),
        });
    }
    read.verdict("Strict-Transport-Security read")
}

/// The issue with a response's HSTS policy, if any (RFC 6797: the first header
/// counts; a header without a parsable max-age is ignored by browsers).
pub fn hsts_issue(response: &Response) -> Option<HstsIssue> {
    let Some(value) = response.header("strict-transport-security") else { return Some(HstsIssue::Missing) };
    let max_age = value.split(';').find_map(|directive| {
        let (name, v) = directive.split_once('=')?;
        name.trim().eq_ignore_ascii_case("max-age").then(|| v.trim().trim_matches('"').parse::<u64>().ok())?
    });
    match max_age {
        None => Some(HstsIssue::Missing),
        Some(age) if age < MIN_MAX_AGE => Some(HstsIssue::Weak(age)),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::fixture::exchange;

    fn issue(headers: &[(&str, &str)]) -> Option<HstsIssue> {
        hsts_issue(&exchange("https://h/", 200, headers, "{}").response)
    }

    #[test]
    fn strong_policies_pass() {
        assert_eq!(issue(&[("Strict-Transport-Security", "max-age=31536000; includeSubDomains")]), None);
        assert_eq!(issue(&[("strict-transport-security", "includeSubDomains; max-age=\"15552000\"; preload")]), None);
    }

    #[test]
    fn missing_unparsable_and_short_policies_are_reported() {
        assert_eq!(issue(&[]), Some(HstsIssue::Missing));
        assert_eq!(issue(&[("Strict-Transport-Security", "includeSubDomains")]), Some(HstsIssue::Missing));
        assert_eq!(issue(&[("Strict-Transport-Security", "max-age=abc")]), Some(HstsIssue::Missing));
        assert_eq!(issue(&[("Strict-Transport-Security", "max-age=0")]), Some(HstsIssue::Weak(0)));
        assert_eq!(issue(&[("Strict-Transport-Security", "max-age=86400")]), Some(HstsIssue::Weak(86_400)));
        assert_eq!(issue(&[("Strict-Transport-Security", "max-age=15551999")]), Some(HstsIssue::Weak(15_551_999)));
    }
}

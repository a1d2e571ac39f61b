//! APIs whose paths, parameters and answers carry no version at all.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::spec::{answered, described, no_description};
use mortar_engine::Exchange;
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "inventory.unversioned-api",
        category: Category::Inventory,
        severity: Severity::Info,
        profile: Profile::Passive,
        title: "API carries no version",
        description: "Needs an API description. Reported (informational, no score) when no documented path has a \
            version segment (`v2`, `2024-01-31`), no operation takes a version header or query parameter, and the \
            answers name no version (an `api-version` style header or a versioned media type). Without a version, \
            old and new behaviour cannot live side by side, so breaking fixes are postponed and old clients keep \
            old flaws; it is an inventory fact, not a flaw by itself.",
        remediation: Remediation {
            summary: "Version the API explicitly (a path prefix such as /v1, or a version header or media type) and \
                document every live version with its retirement date.",
            actix_web: "Mount the API under a versioned scope: `App::new().service(web::scope(\"/v1\").configure(v1::routes))`, \
                and add `/v2` as a second scope when behaviour must change.",
            axum: "Nest the API under a versioned prefix: `Router::new().nest(\"/v1\", v1::router())`, and nest `/v2` \
                beside it when behaviour must change.",
        },
        references: References { owasp_api: &["API9:2023"], cwe: &["CWE-1059"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// A path segment that names a version: `v1`, `v2.1`, `V3`, or a date `2024-01-31`.
pub(crate) fn is_version_segment(segment: &str) -> bool {
    let numbered = segment.strip_prefix(['v', 'V']).is_some_and(|rest| {
        !rest.is_empty() && rest.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    let dated = segment.len() == 10
        && segment.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    numbered || dated
}

/// A header or parameter name used for versioning (`api-version`, `X-API-Version`, `version`).
fn is_version_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "version" || lower.ends_with("api-version") || lower.ends_with("api_version") || lower == "x-version"
}

/// Whether an answer names a version: a versioning header, or a media type
/// with a version (`application/vnd.acme.v2+json`, `...; version=2`).
fn answer_names_version(exchange: &Exchange) -> bool {
    let headers = &exchange.response.headers;
    headers.iter().any(|(name, value)| {
        let value = String::from_utf8_lossy(value).to_ascii_lowercase();
        is_version_name(name)
            || (name.eq_ignore_ascii_case("content-type")
                && (value.contains("version=") || value.split(['.', '+', '/', ';']).any(is_version_segment)))
    })
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    let versioned_path = ctx.operations.iter().any(|o| o.endpoint.path.split('/').any(is_version_segment));
    let versioned_parameter = ctx.operations.iter().any(|o| {
        o.headers.iter().any(|(name, _)| is_version_name(name))
            || o.target.split_once('?').is_some_and(|(_, query)| {
                query.split('&').any(|pair| is_version_name(pair.split('=').next().unwrap_or("")))
            })
    });
    if versioned_path || versioned_parameter {
        return CheckVerdict::Ran("the description versions the API".into());
    }
    let sweep = ctx.reachability(CHECK.info.id).await;
    let answers: Vec<&Arc<Exchange>> = sweep.values().flat_map(|reaches| answered(reaches).map(|(_, ex)| ex)).collect();
    if answers.iter().any(|ex| answer_names_version(ex)) {
        return CheckVerdict::Ran("the answers name a version".into());
    }
    let Some(sample) = answers.iter().find(|ex| (200..300).contains(&ex.response.status)).or(answers.first()) else {
        return CheckVerdict::Inconclusive("no documented operation answered".into());
    };
    let request = ctx.request("GET", &ctx.operations[0].endpoint);
    reporter.observe(Observation {
        endpoint: None,
        component: None,
        severity: None,
        confidence: Confidence::Firm,
        title: None,
        description: format!(
            "None of the {} documented operations has a version in its path or parameters, and none of {} \
             answers names one.",
            ctx.operations.len(),
            answers.len()
        ),
        evidence: vec![ctx.evidence(sample, "An answer of the API: no version in its path, headers or media type.")],
        reproduce: ctx.curl(&request),
    });
    CheckVerdict::Ran(format!("{} operations and {} answers looked at", ctx.operations.len(), answers.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_segments() {
        for yes in ["v1", "V2", "v2.1", "2024-01-31"] {
            assert!(is_version_segment(yes), "{yes}");
        }
        for no in ["", "v", "vault", "values", "v1beta", "2024", "orders", "12345", "2024-1-31"] {
            assert!(!is_version_segment(no), "{no}");
        }
    }

    #[test]
    fn version_names() {
        for yes in ["api-version", "X-API-Version", "Api_Version", "version"] {
            assert!(is_version_name(yes), "{yes}");
        }
        for no in ["x-request-id", "conversion", "versions"] {
            assert!(!is_version_name(no), "{no}");
        }
    }
}

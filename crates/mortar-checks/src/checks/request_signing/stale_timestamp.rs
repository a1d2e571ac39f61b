//! `request-signing.stale-timestamp`: judged from the probe session the six
//! `request-signing.*` checks share (`probes::request_signing`).

use crate::check::Check;
use crate::probes::request_signing::judge;
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "request-signing.stale-timestamp",
        category: Category::RequestSigning,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "Old or future signature timestamps accepted",
        description: "Signs requests with a timestamp an hour old and an hour ahead (fresh nonce each), and measures the \
            tolerance window by bisection (reported in coverage). From a captured request, reports when a capture \
            over an hour old is still accepted. A window wider than 15 minutes lets a captured request be replayed \
            long after it was made.",
        remediation: Remediation {
            summary: "Refuse a signed timestamp more than 300 s away from the server clock, in either direction, after the \
                MAC verifies and before anything else.",
            actix_web: "Parse the signed timestamp in the verifying extractor and reject `(now - ts).abs() > 300` with \
                `HttpResponse::Unauthorized()`; pair it with a nonce store so the window cannot be replayed within.",
            axum: "Parse the signed timestamp in the verifying extractor and reject `(now - ts).abs() > 300` with \
                `StatusCode::UNAUTHORIZED`; pair it with a nonce store so the window cannot be replayed within.",
        },
        references: References { owasp_api: &["API2:2023", "API8:2023"], cwe: &["CWE-345", "CWE-347", "CWE-294"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(judge(ctx, reporter, CHECK.info.id)),
};

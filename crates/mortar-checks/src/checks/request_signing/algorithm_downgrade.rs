//! `request-signing.algorithm-downgrade`: judged from the probe session the six
//! `request-signing.*` checks share (`probes::request_signing`).

use crate::check::Check;
use crate::probes::request_signing::judge;
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "request-signing.algorithm-downgrade",
        category: Category::RequestSigning,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Weaker signature algorithm accepted",
        description: "When the signature names its algorithm (`sha256=...`), sends a fresh HMAC-SHA-1 signature labelled \
            `sha1=`. A 2xx means the client chooses the algorithm: a verifier must fix it.",
        remediation: Remediation {
            summary: "Fix the algorithm on the server: accept exactly the one label you issue and refuse any other.",
            actix_web: "Match the label literally (`sig.strip_prefix(\"sha256=\")`) and answer 401 otherwise; never pick the \
                hash from the request.",
            axum: "Match the label literally (`sig.strip_prefix(\"sha256=\")`) and reject otherwise; never pick the hash \
                from the request.",
        },
        references: References { owasp_api: &["API2:2023", "API8:2023"], cwe: &["CWE-345", "CWE-347", "CWE-294"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(judge(ctx, reporter, CHECK.info.id)),
};

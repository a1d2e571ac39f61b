//! `request-signing.weak-secret`: judged from the probe session the six
//! `request-signing.*` checks share (`probes::request_signing`).

use crate::check::Check;
use crate::probes::request_signing::judge;
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "request-signing.weak-secret",
        category: Category::RequestSigning,
        severity: Severity::Critical,
        profile: Profile::Standard,
        title: "Signatures made with an empty or default key accepted",
        description: "Signs a fresh request with the empty key and with well-known default secrets (`secret`, `changeme`, \
            ...), using the scheme the identity describes. A 2xx means anyone can sign requests: the key is empty \
            (an unset environment variable) or a default, perhaps as a leftover entry in a rotation list.",
        remediation: Remediation {
            summary: "Load a random key of at least 32 bytes from a secret store, refuse to start when it is missing or \
                empty, and drop retired keys from the rotation list.",
            actix_web: "Read the key at start-up (`std::env::var(\"HMAC_KEY\")`), `panic!`/exit when it is absent or shorter \
                than 32 bytes, and keep it in `web::Data`; never default it to `\"\"` or `unwrap_or_default()`.",
            axum: "Read the key at start-up, exit when it is absent or shorter than 32 bytes, and keep it in the router \
                `State`; never default it to `\"\"` or `unwrap_or_default()`.",
        },
        references: References { owasp_api: &["API2:2023", "API8:2023"], cwe: &["CWE-345", "CWE-347", "CWE-294"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(judge(ctx, reporter, CHECK.info.id)),
};

//! `request-signing.signature-bypass`: judged from the probe session the six
//! `request-signing.*` checks share (`probes::request_signing`).

use crate::check::Check;
use crate::probes::request_signing::judge;
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "request-signing.signature-bypass",
        category: Category::RequestSigning,
        severity: Severity::Critical,
        profile: Profile::Standard,
        title: "Invalid request signature accepted",
        description: "On an operation that answers a validly signed request and refuses one without its signature, sends the \
            request with the signature emptied, truncated to half its length, and replaced by garbage of the same \
            length. Any of them answered 2xx means the verifier does not compare the whole signature (a prefix or \
            length-dependent comparison, or a parse error that falls through to success).",
        remediation: Remediation {
            summary: "Compute the MAC over the received bytes and compare it whole, in constant time, with the decoded \
                signature; refuse a signature of the wrong length or encoding before comparing.",
            actix_web: "In the extractor or middleware that guards your scope, decode the signature (hex/base64) and call \
                `Hmac::<Sha256>::verify_slice(&sig)`, which checks the length and compares in constant time; answer \
                `HttpResponse::Unauthorized()` on any error.",
            axum: "In a `FromRequest` extractor (it owns the body) decode the signature and call \
                `Hmac::<Sha256>::verify_slice(&sig)`; reject with `StatusCode::UNAUTHORIZED` on any error.",
        },
        references: References { owasp_api: &["API2:2023", "API8:2023"], cwe: &["CWE-345", "CWE-347", "CWE-294"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(judge(ctx, reporter, CHECK.info.id)),
};

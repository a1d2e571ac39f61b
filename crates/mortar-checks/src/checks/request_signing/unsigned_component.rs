//! `request-signing.unsigned-component`: judged from the probe session the six
//! `request-signing.*` checks share (`probes::request_signing`).

use crate::check::Check;
use crate::probes::request_signing::judge;
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "request-signing.unsigned-component",
        category: Category::RequestSigning,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Request component not covered by the signature",
        description: "Signs a request, then changes one component at a time (a query parameter added, duplicated or \
            reordered; the method; one body byte and an equivalent re-encoding of a JSON body where writes are \
            allowed) and sends it with the original signature. A 2xx means the server acts on something the \
            signature does not cover: an attacker who sees one signed request can redirect it.",
        remediation: Remediation {
            summary: "Sign (and verify) the method, the path, the raw query string, the headers the handler reads and a \
                digest of the exact body bytes; verify over the bytes received, never over a re-parsed or re-serialised \
                form.",
            actix_web: "Read the raw parts before any extractor parses them: `req.method()`, `req.uri().path()`, \
                `req.query_string()` and the `web::Bytes` body, build the string to sign from them and verify before \
                deserialising the JSON.",
            axum: "Take `Method`, `Uri` (`uri.path()`, `uri.query()`), `HeaderMap` and `Bytes` in the verifying extractor, \
                build the string to sign from those raw values and verify before `serde_json::from_slice`.",
        },
        references: References { owasp_api: &["API2:2023", "API8:2023"], cwe: &["CWE-345", "CWE-347", "CWE-294"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(judge(ctx, reporter, CHECK.info.id)),
};

//! `request-signing.replay`: judged from the probe session the six
//! `request-signing.*` checks share (`probes::request_signing`).

use crate::check::Check;
use crate::probes::request_signing::judge;
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "request-signing.replay",
        category: Category::RequestSigning,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "Signed request accepted again (replay)",
        description: "Sends one validly signed request twice (at once, and again after a pause when the first replay is \
            refused), and with a signing identity also two fresh signatures that reuse one nonce. Both answered 2xx \
            means a captured request can be replayed: writes repeat, reads leak again. Writes are replayed only in \
            the active profile.",
        remediation: Remediation {
            summary: "Sign a timestamp and a nonce; refuse timestamps outside a short window (300 s) and remember each nonce \
                for that window in a shared store (your database or Redis), checked and inserted atomically after the \
                MAC verifies.",
            actix_web: "After `verify_slice` succeeds, `INSERT INTO seen_nonces (nonce, seen_at) VALUES ($1, $2)` with a unique \
                key (a conflict means replay: answer 401), in the same transaction as the state change; purge rows older \
                than the window.",
            axum: "After `verify_slice` succeeds, insert the nonce into a unique-keyed table (or `SET nonce 1 NX EX 300` in \
                Redis) from the extractor; a conflict means replay: reject with `StatusCode::UNAUTHORIZED`.",
        },
        references: References { owasp_api: &["API2:2023", "API8:2023"], cwe: &["CWE-345", "CWE-347", "CWE-294"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(judge(ctx, reporter, CHECK.info.id)),
};

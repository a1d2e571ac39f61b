//! Undocumented live paths next to documented ones: other API versions and
//! common internal siblings.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::sign_in::{aimed_at_nobody, kind};
use crate::probes::spec::{described, no_description, shared_prefix};
use mortar_engine::Request;
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Siblings of the base path that APIs keep undocumented.
const SIBLINGS: &[&str] = &["internal", "private", "beta", "legacy", "admin"];
/// Bound on guessed paths per scan.
const MAX_CANDIDATES: usize = 40;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "inventory.undocumented-endpoints",
        category: Category::Inventory,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "Undocumented endpoints live next to documented ones",
        description: "Derives paths the API description does not list but deployments often keep: the same \
            operations under other version segments (v1 next to a documented v2) and internal and admin \
            siblings of the base path and of the prefix all documented paths share (`/api`). Each is fetched \
            with GET and compared with the answer to a path that cannot exist; one that answers differently \
            with 2xx (served: medium) or 401/403 (present but protected: low) is reported. In the active \
            profile, other versions of a sign-in operation are sent its own method with a made-up user and \
            reported when they answer as a sign-in (2xx, 400, 401, 403, 422) where a path that cannot exist \
            answers otherwise. Such endpoints escape the reviews and fixes the documented ones get.",
        remediation: Remediation {
            summary: "Remove old API versions and internal routes from public deployments, or document and protect them like the rest.",
            actix_web: "Drop the old version's `web::scope(\"/v1\")` from the `App` (or mount it only in internal \
                builds behind a feature flag), and keep internal routes on a separate listener that is not exposed.",
            axum: "Drop the old version's `Router::nest(\"/v1\", ...)` (or mount it only in internal builds), and \
                serve internal routes from a separate Router bound to a non-public address.",
        },
        references: References { owasp_api: &["API9:2023"], cwe: &["CWE-1059", "CWE-912"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// `/api/v2/orders/7` with its version moved to `v1` and `v3`.
fn other_versions(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let Some(n) = segment.strip_prefix('v').and_then(|d| d.parse::<u32>().ok()) else { continue };
        for other in [n.checked_sub(1), Some(n + 1)].into_iter().flatten().filter(|o| *o >= 1) {
            let mut moved = segments.clone();
            let replacement = format!("v{other}");
            moved[i] = &replacement;
            out.push(moved.join("/"));
        }
    }
    out
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    let id = CHECK.info.id;
    let documented: BTreeSet<String> = ctx.operations.iter().map(|o| o.target.clone()).collect();
    let documented_templates: BTreeSet<String> = ctx.operations.iter().map(|o| o.endpoint.path.clone()).collect();
    let mut candidates: BTreeSet<String> = BTreeSet::new();
    // Another version of a reset or a logout would be as destructive, and is not held back.
    let harmless = |o: &&ScanOperation| crate::context::hazard::destructive_reason(o).is_none();
    for op in ctx.operations.iter().filter(|o| o.endpoint.method == "GET").filter(harmless) {
        candidates.extend(other_versions(&op.target));
    }
    let api_root = shared_prefix(documented_templates.iter().map(String::as_str));
    for sibling in SIBLINGS {
        candidates.insert(ctx.target.join(sibling));
        if api_root != "/" {
            candidates.insert(format!("{api_root}/{sibling}"));
        }
    }
    candidates.retain(|c| !documented.contains(c) && !documented_templates.contains(c));
    let candidates: Vec<String> = candidates.into_iter().take(MAX_CANDIDATES).collect();
    // What "does not exist" looks like here (a soft 404 is common).
    let missing = ctx.target.join("mortar-no-such-path-7c1e");
    let baseline = match ctx.send(id, None, Request::get(&ctx.origin, missing).identity(ctx.primary_identity())).await {
        Ok(ex) => ex,
        Err(e) => return CheckVerdict::Inconclusive(format!("no answer for a path that cannot exist: {}", e.chain())),
    };
    let mut tried = 0;
    for path in &candidates {
        let endpoint = Endpoint::new("GET", path.clone());
        let request = Request::get(&ctx.origin, path.clone()).identity(ctx.primary_identity());
        let exchange = match ctx.send(id, Some(&endpoint), request.clone()).await {
            Ok(ex) => ex,
            Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
            Err(_) => continue,
        };
        tried += 1;
        let status = exchange.response.status;
        let present = (200..300).contains(&status) || status == 401 || status == 403;
        let like_missing = status == baseline.response.status && exchange.response.body == baseline.response.body;
        if !present || like_missing {
            continue;
        }
        let served = (200..300).contains(&status);
        reporter.observe(Observation {
            endpoint: Some(endpoint),
            component: None,
            severity: Some(if served { Severity::Medium } else { Severity::Low }),
            confidence: Confidence::Firm,
            title: None,
            description: format!(
                "GET {path} is not in the API description but answers HTTP {status}{}, while a path that cannot \
                 exist answers HTTP {}.",
                if served { " with content" } else { " (present, protected)" },
                baseline.response.status
            ),
            evidence: vec![ctx.evidence(&exchange, "An undocumented path that answers.")],
            reproduce: ctx.curl(&request),
        });
    }
    let sign_ins = if ctx.settings.profile == Profile::Active {
        match other_sign_in_versions(&ctx, &reporter, &documented_templates).await {
            Ok(n) => n,
            Err(verdict) => return verdict,
        }
    } else {
        0
    };
    let mut text = format!("{tried} undocumented candidate path(s) tried against a soft-404 baseline");
    if sign_ins > 0 {
        text.push_str(&format!("; {sign_ins} other version(s) of sign-in operations sent a made-up user"));
    }
    CheckVerdict::Ran(text)
}

/// Whether a status is a sign-in's own answer (accepted, refused, invalid).
fn answers_as_sign_in(status: u16) -> bool {
    (200..300).contains(&status) || matches!(status, 400 | 401 | 403 | 422)
}

/// Other versions of the sign-in operations (`/api/v1/users/login` beside a
/// documented `/api/v2/users/login`), sent their own method and a made-up
/// user: an old sign-in left live often lacks the checks and limits of the
/// documented one. How many were sent.
async fn other_sign_in_versions(
    ctx: &ScanContext,
    reporter: &Reporter,
    documented: &BTreeSet<String>,
) -> Result<usize, CheckVerdict> {
    let id = CHECK.info.id;
    let mut sent = 0;
    let sign_ins = ctx.operations.iter().filter(|o| !o.is_safe() && matches!(kind(o), Some("sign-in" | "token")));
    for op in sign_ins {
        let Some(aimed) = aimed_at_nobody(op, "0ld") else { continue };
        let versions: Vec<String> = other_versions(&aimed.target)
            .into_iter()
            .filter(|p| !documented.contains(p))
            .take(MAX_CANDIDATES.saturating_sub(sent))
            .collect();
        if versions.is_empty() {
            continue;
        }
        let request_for = |path: String| {
            let mut request = Request::new(&op.endpoint.method, &ctx.origin, path);
            request.headers = op.headers.clone();
            request.body = aimed.body.clone().unwrap_or_default();
            // A 429 here is an answer, not something to wait out.
            request.options.no_retry = true;
            request
        };
        let baseline = match ctx.send(id, None, request_for(ctx.target.join("mortar-no-such-path-7c1e"))).await {
            Ok(ex) => ex,
            Err(e) if e.is_scan_limit() => return Err(CheckVerdict::Inconclusive(e.chain())),
            Err(_) => continue,
        };
        for path in versions {
            let endpoint = Endpoint::new(&op.endpoint.method, path.clone());
            let request = request_for(path.clone());
            sent += 1;
            let exchange = match ctx.send(id, Some(&endpoint), request.clone()).await {
                Ok(ex) => ex,
                Err(e) if e.is_scan_limit() => return Err(CheckVerdict::Inconclusive(e.chain())),
                Err(_) => continue,
            };
            let status = exchange.response.status;
            let like_missing = status == baseline.response.status && exchange.response.body == baseline.response.body;
            if !answers_as_sign_in(status) || like_missing {
                continue;
            }
            reporter.observe(Observation {
                endpoint: Some(endpoint),
                // Its own finding: another version of sign-in, not a page.
                component: Some("sign-in-version".into()),
                severity: Some(Severity::Medium),
                confidence: Confidence::Firm,
                title: None,
                description: format!(
                    "{} {path} is not in the API description, yet it answers a sign-in for a made-up user with \
                     HTTP {status}, as a sign-in does, while a path that cannot exist answers HTTP {}. It is \
                     another version of the documented {} {}: an old sign-in left live keeps the flaws its \
                     successor fixed.",
                    op.endpoint.method, baseline.response.status, op.endpoint.method, op.endpoint.path
                ),
                evidence: vec![
                    ctx.evidence(&exchange, "The undocumented version answers as a sign-in."),
                    ctx.evidence(&baseline, "A path that cannot exist, same request."),
                ],
                reproduce: ctx.curl(&request),
            });
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_move_both_ways_but_not_below_one() {
        assert_eq!(other_versions("/api/v2/orders/7"), vec!["/api/v1/orders/7", "/api/v3/orders/7"]);
        assert_eq!(other_versions("/v1/x"), vec!["/v2/x"]);
        assert!(other_versions("/api/orders").is_empty());
        assert!(other_versions("/api/vault").is_empty());
    }
}

//! Undocumented live paths next to documented ones: other API versions and
//! common internal siblings.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::spec::{described, no_description};
use mortar_engine::Request;
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Siblings of the base path that APIs keep undocumented.
const SIBLINGS: &[&str] = &["internal", "private", "beta", "legacy"];
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
            operations under other version segments (v1 next to a documented v2) and internal siblings of the \
            base path. Each is fetched with GET and compared with the answer to a path that cannot exist; one \
            that answers differently with 2xx (served: medium) or 401/403 (present but protected: low) is \
            reported. Such endpoints escape the reviews and fixes the documented ones get.",
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
    for sibling in SIBLINGS {
        candidates.insert(ctx.target.join(sibling));
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
    CheckVerdict::Ran(format!("{tried} undocumented candidate path(s) tried against a soft-404 baseline"))
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

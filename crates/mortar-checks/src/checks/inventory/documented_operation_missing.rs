//! Documented operations the API does not serve.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::spec::{answered, defined_at, described, no_description, swept};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "inventory.documented-operation-missing",
        category: Category::Inventory,
        severity: Severity::Low,
        profile: Profile::Passive,
        title: "Documented operation not served",
        description: "Reads the reachability sweep for documented operations that answered 404 to every \
            identity and to anonymous access, with the same answer the server gives for a route it does not \
            have (a 404 that differs is the application's \"no such object\" for the id tried): the description and the deployment have drifted apart, so the \
            description can no longer be trusted as the inventory (firm for safe operations called directly, \
            tentative for unsafe ones probed with OPTIONS).",
        remediation: Remediation {
            summary: "Generate the API description from the code (or test the deployment against it in CI) so they cannot drift apart.",
            actix_web: "Derive the description from the routes (e.g. utoipa with `#[utoipa::path]` on each handler and \
                `OpenApi` listing them) and fail CI when a documented path has no route.",
            axum: "Derive the description from the routes (e.g. utoipa or aide with the Router) and fail CI when a \
                documented path has no route.",
        },
        references: References { owasp_api: &["API9:2023"], cwe: &["CWE-1059"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    let sweep = ctx.reachability(CHECK.info.id).await;
    // What this server answers for a route it does not have: a documented
    // operation whose 404 looks different is routed, and its 404 is the
    // application's "no such object" for the synthesized id.
    // Asked only when some operation answered 404 to every caller.
    let all_404 = |op: &crate::context::ScanOperation| {
        sweep.get(&op.endpoint).is_some_and(|reaches| {
            let answers: Vec<_> = answered(reaches).collect();
            !answers.is_empty() && answers.iter().all(|(_, ex)| ex.response.status == 404)
        })
    };
    let unrouted = if !ctx.operations.iter().any(all_404) {
        None
    } else {
        let probe = format!("{}/mortar-no-such-route-4f2a", ctx.target.base_path.trim_end_matches('/'));
        let request = mortar_engine::Request::get(&ctx.origin, probe.clone()).identity(ctx.primary_identity());
        ctx.send(CHECK.info.id, None, request).await.ok().map(|ex| (probe, ex))
    };
    let looks_unrouted = |target: &str, ex: &mortar_engine::Exchange| -> bool {
        let Some((probe, baseline)) = &unrouted else { return true };
        let strip = |body: &[u8], path: &str| String::from_utf8_lossy(body).replace(path, "{path}");
        baseline.response.status == 404
            && baseline.response.header("content-type") == ex.response.header("content-type")
            && strip(&baseline.response.body, probe)
                == strip(&ex.response.body, target.split('?').next().unwrap_or(target))
    };
    let mut judged = 0;
    for op in &ctx.operations {
        let Some(reaches) = sweep.get(&op.endpoint) else { continue };
        let answers: Vec<_> = answered(reaches).collect();
        if answers.is_empty() {
            continue;
        }
        judged += 1;
        if !answers.iter().all(|(_, ex)| ex.response.status == 404 && looks_unrouted(&op.target, ex)) {
            continue;
        }
        let (reach, exchange) = answers[0];
        let direct = reach.probe == op.endpoint.method;
        // An OPTIONS 404 on a path whose GET is served says the server does
        // not route OPTIONS (actix-web's default), not that the operation is gone.
        let path = |target: &str| target.split('?').next().unwrap_or_default().to_string();
        let served_by_get =
            ctx.operations.iter().filter(|o| o.endpoint.method == "GET" && path(&o.target) == path(&op.target)).any(
                |get| sweep.get(&get.endpoint).is_some_and(|r| answered(r).any(|(_, ex)| ex.response.status != 404)),
            );
        if !direct && served_by_get {
            continue;
        }
        reporter.observe(Observation {
            endpoint: Some(op.endpoint.clone()),
            component: None,
            severity: None,
            confidence: if direct { Confidence::Firm } else { Confidence::Tentative },
            title: None,
            description: format!(
                "{} {} is documented ({}) but answered 404 to all {} caller(s) tried{}.",
                op.endpoint.method,
                op.endpoint.path,
                defined_at(op),
                answers.len(),
                if direct { "" } else { " (probed with OPTIONS: its method changes state)" }
            ),
            evidence: vec![ctx.evidence(exchange, "The documented operation is not found.")],
            reproduce: ctx.curl(&ctx.request(&reach.probe, &op.endpoint)),
        });
    }
    swept(&ctx, judged)
}

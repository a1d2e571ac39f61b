//! Deprecated operations that still answer.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::spec::{answered, defined_at, described, no_description, swept};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "inventory.deprecated-operation-live",
        category: Category::Inventory,
        severity: Severity::Low,
        profile: Profile::Passive,
        title: "Deprecated operation still served",
        description: "Reads the reachability sweep for operations the API description marks deprecated: a 2xx \
            answer to a safe call shows the old code path is still live (firm); for unsafe operations, an OPTIONS \
            answer whose Allow header still lists the method is reported as tentative. Deprecated paths tend to \
            miss the fixes and checks newer ones received.",
        remediation: Remediation {
            summary: "Retire deprecated operations on a schedule: answer 410 Gone (with a pointer to the replacement) and then remove them.",
            actix_web: "Replace the deprecated route's handler with one returning `HttpResponse::Gone()` (or remove the \
                `.route(...)`) once its sunset date passes; announce it before with `Deprecation` and `Sunset` headers.",
            axum: "Replace the deprecated route's handler with one returning `StatusCode::GONE` (or drop the \
                `.route(...)`) once its sunset date passes; announce it before with `Deprecation` and `Sunset` headers.",
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
    let mut judged = 0;
    for op in ctx.operations.iter().filter(|o| o.deprecated) {
        let Some(reaches) = sweep.get(&op.endpoint) else { continue };
        judged += 1;
        let live = answered(reaches).find(|(r, ex)| {
            if r.probe == op.endpoint.method {
                (200..300).contains(&ex.response.status)
            } else {
                ex.response
                    .header("allow")
                    .is_some_and(|allow| allow.split(',').any(|m| m.trim().eq_ignore_ascii_case(&op.endpoint.method)))
            }
        });
        let Some((reach, exchange)) = live else { continue };
        let direct = reach.probe == op.endpoint.method;
        let request = ctx.request(&reach.probe, &op.endpoint);
        reporter.observe(Observation {
            endpoint: Some(op.endpoint.clone()),
            component: None,
            severity: None,
            confidence: if direct { Confidence::Firm } else { Confidence::Tentative },
            title: None,
            description: if direct {
                format!(
                    "{} {} is deprecated in the API description ({}) and still answers HTTP {}.",
                    op.endpoint.method,
                    op.endpoint.path,
                    defined_at(op),
                    exchange.response.status
                )
            } else {
                format!(
                    "{} {} is deprecated in the API description ({}) and OPTIONS still lists {} in Allow.",
                    op.endpoint.method,
                    op.endpoint.path,
                    defined_at(op),
                    op.endpoint.method
                )
            },
            evidence: vec![ctx.evidence(exchange, "The deprecated operation still answers.")],
            reproduce: ctx.curl(&request),
        });
    }
    swept(&ctx, judged)
}

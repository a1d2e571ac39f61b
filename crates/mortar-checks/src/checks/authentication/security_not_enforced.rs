//! Operations whose description requires credentials, answered without any.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::spec::{answered, defined_at, described, no_description, swept};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "authentication.security-not-enforced",
        category: Category::Authentication,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Declared authentication not enforced",
        description: "Calls every operation whose API description requires credentials with a safe method and \
            no credentials at all. A 2xx answer proves the declared security is not enforced; it is confirmed \
            when the anonymous answer carries the same body as an authenticated identity's.",
        remediation: Remediation {
            summary: "Enforce authentication on every operation that declares it, in one place that no route can bypass.",
            actix_web: "Wrap the protected scope in an authentication middleware (e.g. actix-web-httpauth's \
                `HttpAuthentication::bearer(validator)` on `web::scope(\"/api\")`) rather than checking inside some \
                handlers, and return 401 from the validator when the credential is missing or invalid.",
            axum: "Put the protected routes in their own Router with `.route_layer(middleware::from_fn(require_auth))` \
                (or an extractor every handler takes) so a route added later cannot skip it; answer 401 when the \
                credential is missing or invalid.",
        },
        references: References { owasp_api: &["API2:2023"], cwe: &["CWE-306", "CWE-862"] },
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
    for op in ctx.operations.iter().filter(|o| o.secured && o.is_safe()) {
        let Some(reaches) = sweep.get(&op.endpoint) else { continue };
        let Some((_, anonymous)) = answered(reaches).find(|(r, _)| r.identity == "anonymous") else { continue };
        judged += 1;
        let status = anonymous.response.status;
        if !(200..300).contains(&status) {
            continue;
        }
        // The same body as an authenticated caller got: the data really was served.
        let same_as_identity = answered(reaches).any(|(r, ex)| {
            r.identity != "anonymous" && ex.response.status == status && ex.response.body == anonymous.response.body
        });
        let request = ctx.request(&op.endpoint.method, &op.endpoint);
        reporter.observe(Observation {
            endpoint: Some(op.endpoint.clone()),
            component: None,
            severity: None,
            confidence: if same_as_identity { Confidence::Confirmed } else { Confidence::Firm },
            title: None,
            description: format!(
                "{} {} requires credentials according to the API description ({}), yet it answered HTTP {status} \
                 to a request without any{}.",
                op.endpoint.method,
                op.endpoint.path,
                defined_at(op),
                if same_as_identity { ", with the same body an authenticated identity received" } else { "" }
            ),
            evidence: vec![ctx.evidence(anonymous, "The request carried no credentials and was served.")],
            reproduce: ctx.curl(&request),
        });
    }
    swept(&ctx, judged)
}

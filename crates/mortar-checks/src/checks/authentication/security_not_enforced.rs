//! Operations whose description requires credentials, answered without any.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::json::{is_empty_json, reads_as_refusal, same_shape};
use crate::probes::spec::{answered, defined_at, described, no_description, swept};
use mortar_engine::Exchange;
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
        let served: Vec<&Exchange> = answered(reaches)
            .filter(|(r, ex)| r.identity != "anonymous" && (200..300).contains(&ex.response.status))
            .map(|(_, ex)| ex.as_ref())
            .collect();
        let Some(confidence) = served_anonymously(anonymous, &served) else { continue };
        let same_as_identity = confidence == Confidence::Confirmed;
        // Every identity and the anonymous caller got one and the same body:
        // nothing personal was served, and an operation whose authentication
        // is optional (FastAPI publishes `security` for those too) looks
        // exactly like this. Said, but not as a proven flaw.
        let (severity, confidence, tail) = if same_as_identity && same_for_everyone(anonymous, &served) {
            (
                Some(Severity::Low),
                Confidence::Tentative,
                ", with the same body every identity received: nothing personal was served, so authentication \
                 may be optional by design; check whether anonymous callers may see this",
            )
        } else if same_as_identity {
            (None, confidence, ", with the same body an authenticated identity received")
        } else {
            (None, confidence, "")
        };
        let request = ctx.request(&op.endpoint.method, &op.endpoint);
        reporter.observe(Observation {
            endpoint: Some(op.endpoint.clone()),
            component: None,
            severity,
            confidence,
            title: None,
            description: format!(
                "{} {} requires credentials according to the API description ({}), yet it answered HTTP {status} \
                 to a request without any{tail}.",
                op.endpoint.method,
                op.endpoint.path,
                defined_at(op),
            ),
            evidence: vec![ctx.evidence(anonymous, "The request carried no credentials and was served.")],
            reproduce: ctx.curl(&request),
        });
    }
    swept(&ctx, judged)
}

/// Whether two or more identities and the anonymous caller all got one body.
fn same_for_everyone(anonymous: &Exchange, served: &[&Exchange]) -> bool {
    served.len() >= 2 && served.iter().all(|ex| ex.response.body == anonymous.response.body)
}

/// Whether the anonymous answer proves the operation served its data, and how
/// firmly; `served` are the 2xx answers the identities got.
fn served_anonymously(anonymous: &Exchange, served: &[&Exchange]) -> Option<Confidence> {
    if !(200..300).contains(&anonymous.response.status) {
        return None;
    }
    let body = &anonymous.response.body;
    if served.iter().any(|ex| !body.is_empty() && ex.response.body == *body) {
        return Some(Confidence::Confirmed);
    }
    if reads_as_refusal(body) {
        return None;
    }
    let json = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).ok();
    let anonymous_json = json(body).filter(|v| !is_empty_json(v))?;
    let identity_json: Vec<serde_json::Value> = served.iter().filter_map(|ex| json(&ex.response.body)).collect();
    if identity_json.is_empty() || identity_json.iter().any(|v| same_shape(v, &anonymous_json)) {
        Some(Confidence::Firm)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16, body: &[u8]) -> Exchange {
        crate::probes::fixture::exchange("http://127.0.0.1/orders", status, &[], std::str::from_utf8(body).unwrap())
    }

    #[test]
    fn one_body_for_every_caller_is_not_personal_data() {
        let list = br#"{"articles": [{"slug": "hello", "title": "Hello"}]}"#;
        let (alice, bob, anonymous) = (exchange(200, list), exchange(200, list), exchange(200, list));
        assert!(same_for_everyone(&anonymous, &[&alice, &bob]));
        assert!(!same_for_everyone(&anonymous, &[&alice]), "one identity cannot tell");
        let bobs = exchange(200, br#"{"articles": [{"slug": "bobs-draft", "title": "Draft"}]}"#);
        assert!(!same_for_everyone(&anonymous, &[&alice, &bobs]), "personal answers differ");
    }

    #[test]
    fn data_is_proof_and_a_refusal_or_another_shape_is_not() {
        let orders = br#"{"orders": [{"id": 7, "item": "keyboard"}], "total": 1}"#;
        let other_orders = br#"{"orders": [], "total": 0}"#;
        let alice = exchange(200, orders);
        assert_eq!(served_anonymously(&exchange(200, orders), &[&alice]), Some(Confidence::Confirmed));
        assert_eq!(served_anonymously(&exchange(200, other_orders), &[&alice]), Some(Confidence::Firm));
        assert_eq!(served_anonymously(&exchange(200, orders), &[]), Some(Confidence::Firm));
        // Refusals served with 200, empty answers, pages and other shapes prove nothing.
        assert_eq!(served_anonymously(&exchange(200, br#"{"message": "Token is missing"}"#), &[&alice]), None);
        assert_eq!(served_anonymously(&exchange(200, br#"{"error": "no session"}"#), &[&alice]), None);
        assert_eq!(served_anonymously(&exchange(200, b"[]"), &[]), None);
        assert_eq!(served_anonymously(&exchange(200, b"<html><body>app</body></html>"), &[]), None);
        assert_eq!(served_anonymously(&exchange(401, orders), &[&alice]), None);
    }
}

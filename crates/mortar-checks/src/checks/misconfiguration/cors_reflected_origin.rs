//! CORS policy that trusts any Origin by reflecting it.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::{Tally, endpoints};
use mortar_engine::{Exchange, Request};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// An origin no real deployment allows: if it comes back, the policy reflects.
const PROBE_ORIGIN: &str = "https://mortar-cors-probe.example";

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "misconfiguration.cors-reflected-origin",
        category: Category::Misconfiguration,
        severity: Severity::High,
        profile: Profile::Passive,
        title: "CORS policy reflects any Origin",
        description: "Sends requests (simple and preflight) carrying an Origin no deployment would allow and \
            reports endpoints whose Access-Control-Allow-Origin echoes it. With \
            Access-Control-Allow-Credentials: true any web page can read authenticated responses in its \
            visitors' browsers (high); without credentials the policy is equivalent to a wildcard (low).",
        remediation: Remediation {
            summary: "Answer CORS only for an explicit allow-list of trusted origins; never echo the request's Origin.",
            actix_web: "Use actix-cors with `Cors::default().allowed_origin(\"https://app.example.com\")` (one call per \
                trusted origin) instead of `allow_any_origin()` or `allowed_origin_fn(|_, _| true)`; only add \
                `supports_credentials()` when cookies or Authorization must cross origins.",
            axum: "Use tower-http's CorsLayer with `AllowOrigin::list([\"https://app.example.com\".parse()?])` instead \
                of `AllowOrigin::mirror_request()` or a predicate that accepts everything; keep \
                `allow_credentials(true)` only with an explicit list.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-942", "CWE-346"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let endpoints = endpoints(&ctx);
    let mut tally = Tally::new(endpoints.len());
    for endpoint in &endpoints {
        let simple = Request::get(&ctx.origin, endpoint.path.clone())
            .header("Origin", PROBE_ORIGIN)
            .identity(ctx.primary_identity());
        let preflight = Request::new("OPTIONS", &ctx.origin, endpoint.path.clone())
            .header("Origin", PROBE_ORIGIN)
            .header("Access-Control-Request-Method", endpoint.method.clone())
            .header("Access-Control-Request-Headers", "authorization")
            .identity(ctx.primary_identity());
        let mut answered = false;
        for request in [simple, preflight] {
            match ctx.send(id, Some(endpoint), request.clone()).await {
                Ok(exchange) => {
                    answered = true;
                    if let Some(obs) = judge(&ctx, endpoint, &request, &exchange) {
                        reporter.observe(obs);
                        break;
                    }
                }
                Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
                Err(e) => tally.error(e.chain()),
            }
        }
        tally.endpoint(answered);
    }
    tally.verdict("probed with a foreign Origin")
}

fn judge(
    ctx: &ScanContext,
    endpoint: &mortar_model::Endpoint,
    request: &Request,
    exchange: &Exchange,
) -> Option<Observation> {
    let response = &exchange.response;
    let allowed = response.header("access-control-allow-origin")?;
    if allowed.trim() != PROBE_ORIGIN {
        return None;
    }
    let credentials =
        response.header("access-control-allow-credentials").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let (severity, description) = if credentials {
        (
            Severity::High,
            format!(
                "{} {} answered Origin {PROBE_ORIGIN} with Access-Control-Allow-Origin: {PROBE_ORIGIN} and \
                 Access-Control-Allow-Credentials: true: any website can make its visitors' browsers send \
                 credentialed requests here and read the responses.",
                request.method, endpoint.path
            ),
        )
    } else {
        (
            Severity::Low,
            format!(
                "{} {} echoes any Origin in Access-Control-Allow-Origin (without credentials): every website may \
                 read its responses, as with a wildcard.",
                request.method, endpoint.path
            ),
        )
    };
    Some(Observation {
        endpoint: Some(endpoint.clone()),
        component: None,
        severity: Some(severity),
        confidence: Confidence::Confirmed,
        title: None,
        description,
        evidence: vec![
            ctx.evidence(exchange, format!("The foreign Origin {PROBE_ORIGIN} was echoed back as allowed.")),
        ],
        reproduce: ctx.curl(request),
    })
}

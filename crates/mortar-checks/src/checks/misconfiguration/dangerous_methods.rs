//! TRACE, TRACK, CONNECT and WebDAV methods advertised by OPTIONS, and (active
//! profile only) TRACE requests echoed back.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::{Tally, endpoints};
use mortar_engine::{Exchange, Request};
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::sync::Arc;

/// Methods an API has no business serving, with why.
const DANGEROUS: &[(&str, &str)] = &[
    ("TRACE", "echoes requests, headers included (cross-site tracing)"),
    ("TRACK", "IIS's TRACE"),
    ("CONNECT", "turns the server into a tunnel"),
    ("DEBUG", "IIS/ASP.NET remote debugging"),
    ("PROPFIND", "WebDAV listing"),
    ("PROPPATCH", "WebDAV"),
    ("MKCOL", "WebDAV"),
    ("COPY", "WebDAV"),
    ("MOVE", "WebDAV"),
    ("LOCK", "WebDAV"),
    ("UNLOCK", "WebDAV"),
];

/// A header value that only an echo can bring back.
const TRACE_MARKER: &str = "mortar-trace-echo-4f1c";

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "misconfiguration.dangerous-methods",
        category: Category::Misconfiguration,
        severity: Severity::Low,
        profile: Profile::Passive,
        title: "Dangerous HTTP methods enabled",
        description: "Sends OPTIONS to each endpoint and reports TRACE, TRACK, CONNECT, DEBUG and WebDAV methods \
            advertised in Allow or Access-Control-Allow-Methods. In the active profile only, it also sends a \
            TRACE request with a marker header and confirms the finding (medium) when the request comes back \
            echoed; passive and standard scans never send TRACE.",
        remediation: Remediation {
            summary: "Serve and advertise only the methods each route implements; disable TRACE/TRACK and WebDAV \
                at the server and the reverse proxy.",
            actix_web: "Register routes with explicit methods (`web::get()`, `web::post()`), never `web::route()` \
                without a method guard or a catch-all `.default_service` that echoes; answer OPTIONS with the \
                methods actually registered; in nginx `if ($request_method !~ ^(GET|HEAD|POST|OPTIONS)$) { return 405; }`.",
            axum: "Build routes with `get(..).post(..)` (axum answers other methods with 405 and a correct Allow \
                header), do not add `on(MethodFilter::TRACE, ..)` or an `any(..)` handler that echoes, and let a \
                CorsLayer list only the real methods in `allow_methods`.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-749", "CWE-693"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let active = ctx.settings.profile >= Profile::Active;
    let endpoints = endpoints(&ctx);
    let mut tally = Tally::new(endpoints.len());
    for endpoint in &endpoints {
        let options = Request::new("OPTIONS", &ctx.origin, endpoint.path.clone()).identity(ctx.primary_identity());
        let mut answered = false;
        match ctx.send(id, Some(endpoint), options.clone()).await {
            Ok(exchange) => {
                answered = true;
                let methods = advertised(&exchange);
                if !methods.is_empty() && !active {
                    reporter.observe(advertised_observation(&ctx, endpoint, &methods, &options, &exchange));
                } else if !methods.is_empty() {
                    // Kept as a fallback when the TRACE probe below does not confirm.
                    let pending = advertised_observation(&ctx, endpoint, &methods, &options, &exchange);
                    match trace_probe(&ctx, endpoint).await {
                        Ok(Some(confirmed)) => reporter.observe(confirmed),
                        Ok(None) => reporter.observe(pending),
                        Err(e) => return CheckVerdict::Inconclusive(e),
                    }
                    continue;
                }
            }
            Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
            Err(e) => tally.error(e.chain()),
        }
        if active {
            // TRACE may work without being advertised.
            match trace_probe(&ctx, endpoint).await {
                Ok(Some(confirmed)) => {
                    answered = true;
                    reporter.observe(confirmed);
                }
                Ok(None) => {}
                Err(e) => return CheckVerdict::Inconclusive(e),
            }
        }
        tally.endpoint(answered);
    }
    tally.verdict(if active { "OPTIONS read and TRACE sent" } else { "OPTIONS read" })
}

/// Active profile only: sends TRACE with a marker and reports an echo.
/// `Err` only for scan limits.
async fn trace_probe(ctx: &ScanContext, endpoint: &Endpoint) -> Result<Option<Observation>, String> {
    debug_assert!(ctx.settings.profile >= Profile::Active);
    let request = Request::new("TRACE", &ctx.origin, endpoint.path.clone()).header("X-Mortar-Trace", TRACE_MARKER);
    match ctx.send(CHECK.info.id, Some(endpoint), request.clone()).await {
        Ok(exchange) if trace_echoed(&exchange) => Ok(Some(Observation {
            endpoint: Some(endpoint.clone()),
            component: None,
            severity: Some(Severity::Medium),
            confidence: Confidence::Confirmed,
            title: Some("TRACE requests are echoed back".to_string()),
            description: format!(
                "TRACE {} came back with status {} and the request, including the marker header \
                 `X-Mortar-Trace: {TRACE_MARKER}`, echoed in the body: the server reflects every request \
                 header (cookies and credentials added by a browser or a proxy included) to whoever can make \
                 a client send TRACE.",
                endpoint.path, exchange.response.status
            ),
            evidence: vec![ctx.evidence(&exchange, "The TRACE request was echoed back in the response body.")],
            reproduce: ctx.curl(&request),
        })),
        Ok(_) => Ok(None),
        Err(e) if e.is_scan_limit() => Err(e.chain()),
        Err(_) => Ok(None),
    }
}

fn advertised_observation(
    ctx: &ScanContext,
    endpoint: &Endpoint,
    methods: &[&'static str],
    request: &Request,
    exchange: &Exchange,
) -> Observation {
    let why: Vec<String> = methods
        .iter()
        .filter_map(|m| DANGEROUS.iter().find(|(d, _)| d == m))
        .map(|(m, why)| format!("{m} ({why})"))
        .collect();
    Observation {
        endpoint: Some(endpoint.clone()),
        component: None,
        severity: None,
        confidence: Confidence::Firm,
        title: None,
        description: format!(
            "OPTIONS {} advertises {}. Each advertised method is surface the API does not need; the active \
             profile confirms TRACE by sending it.",
            endpoint.path,
            why.join(", ")
        ),
        evidence: vec![ctx.evidence(exchange, format!("OPTIONS advertises {}.", methods.join(", ")))],
        reproduce: ctx.curl(request),
    }
}

/// The dangerous methods listed in `Allow` and `Access-Control-Allow-Methods` (a
/// successful answer only), in catalogue order.
pub fn advertised(exchange: &Exchange) -> Vec<&'static str> {
    let response = &exchange.response;
    if !(200..300).contains(&response.status) {
        return Vec::new();
    }
    let listed: Vec<String> = ["allow", "access-control-allow-methods"]
        .iter()
        .flat_map(|h| response.header_all(h))
        .flat_map(|v| v.split(',').map(|m| m.trim().to_ascii_uppercase()).collect::<Vec<_>>())
        .collect();
    DANGEROUS.iter().map(|(m, _)| *m).filter(|m| listed.iter().any(|l| l == m)).collect()
}

/// Whether a TRACE response echoes the request: 2xx, and the marker or the
/// request line in the body (`message/http` is TRACE's echo format).
pub fn trace_echoed(exchange: &Exchange) -> bool {
    let response = &exchange.response;
    let body = response.text();
    (200..300).contains(&response.status)
        && (body.contains(TRACE_MARKER) || body.to_ascii_lowercase().contains("x-mortar-trace"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::fixture::exchange;

    #[test]
    fn finds_trace_and_webdav_in_allow_and_cors_headers() {
        let ex = exchange("https://h/", 204, &[("Allow", "GET, HEAD, OPTIONS, trace")], "");
        assert_eq!(advertised(&ex), vec!["TRACE"]);
        let ex =
            exchange("https://h/", 200, &[("Access-Control-Allow-Methods", "GET,PROPFIND"), ("Allow", "CONNECT")], "");
        assert_eq!(advertised(&ex), vec!["CONNECT", "PROPFIND"]);
    }

    #[test]
    fn ordinary_methods_and_errors_are_not_reported() {
        let ex = exchange("https://h/", 204, &[("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS")], "");
        assert!(advertised(&ex).is_empty());
        // A 405 listing methods is the server refusing, not advertising TRACE.
        let ex = exchange("https://h/", 405, &[("Allow", "TRACE")], "");
        assert!(advertised(&ex).is_empty());
        // Substrings do not count.
        let ex = exchange("https://h/", 200, &[("Allow", "GET, TRACES")], "");
        assert!(advertised(&ex).is_empty());
    }

    #[test]
    fn trace_echo_needs_the_marker_in_a_success() {
        let echo = format!("TRACE /api/ HTTP/1.1\r\nhost: h\r\nx-mortar-trace: {TRACE_MARKER}\r\n\r\n");
        assert!(trace_echoed(&exchange("https://h/", 200, &[("Content-Type", "message/http")], &echo)));
        assert!(!trace_echoed(&exchange("https://h/", 405, &[], &echo)));
        assert!(!trace_echoed(&exchange("https://h/", 200, &[], "{\"ok\":true}")));
    }
}

//! CORS allow-lists that a crafted Origin gets through: `null`, and origins
//! that only start or end like the API's own host (naive prefix/suffix match).

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::{Tally, endpoints};
use mortar_engine::{Exchange, Request};
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::sync::Arc;

/// An origin no deployment allows: a policy that accepts it reflects every
/// origin, which `misconfiguration.cors-reflected-origin` reports; this check
/// then stays silent so the same flaw is not reported twice.
const FOREIGN_ORIGIN: &str = "https://mortar-cors-probe.example";

/// The crafted origins, each a different allow-list mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bypass {
    /// `Origin: null` (sandboxed iframes, `data:` and `file:` pages send it).
    Null,
    /// `https://<host>.mortar-probe.example`: a `starts_with` (or unanchored regex) check.
    Prefix,
    /// `https://mortar-probe-<host>`: an `ends_with` check meant for subdomains.
    Suffix,
}

impl Bypass {
    const ALL: [Bypass; 3] = [Bypass::Null, Bypass::Prefix, Bypass::Suffix];

    /// The Origin header sent for the API served on `host`.
    pub fn origin(self, host: &str) -> String {
        match self {
            Bypass::Null => "null".to_string(),
            Bypass::Prefix => format!("https://{host}.mortar-probe.example"),
            Bypass::Suffix => format!("https://mortar-probe-{host}"),
        }
    }

    /// The finding's component: each mistake is a separate issue.
    pub fn component(self) -> &'static str {
        match self {
            Bypass::Null => "null-origin",
            Bypass::Prefix => "prefix-match",
            Bypass::Suffix => "suffix-match",
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Bypass::Null => "the `null` origin is trusted: any site can send it from a sandboxed iframe or a data: URL",
            Bypass::Prefix => {
                "origins are matched by prefix: an attacker registers a domain that merely starts with the \
                 trusted name"
            }
            Bypass::Suffix => {
                "origins are matched by suffix: an attacker registers a domain that merely ends with the \
                 trusted name"
            }
        }
    }
}

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "misconfiguration.cors-origin-bypass",
        category: Category::Misconfiguration,
        severity: Severity::High,
        profile: Profile::Passive,
        title: "CORS allow-list bypassed by a crafted Origin",
        description: "Sends simple and preflight requests with Origin `null`, `https://<host>.mortar-probe.example` \
            (prefix match) and `https://mortar-probe-<host>` (suffix match), and reports endpoints whose \
            Access-Control-Allow-Origin accepts one of them while a plainly foreign origin is refused. High \
            with Access-Control-Allow-Credentials: true (an attacker's page reads authenticated responses), \
            low without.",
        remediation: Remediation {
            summary: "Compare the whole Origin against an exact allow-list of scheme://host[:port] strings; never \
                trust `null`, and never match with starts_with, ends_with, contains or an unanchored regex.",
            actix_web: "Use actix-cors with one `.allowed_origin(\"https://app.example.com\")` per trusted origin; \
                if a predicate is needed, `allowed_origin_fn(|origin, _| ALLOWED.contains(&origin.as_bytes()))` \
                with an exact comparison, and never list `null`.",
            axum: "Use tower-http's `CorsLayer::new().allow_origin(AllowOrigin::list([...]))` with exact \
                HeaderValues; an `AllowOrigin::predicate` must compare the full origin for equality (or parse \
                it and compare the host exactly), never `ends_with`/`starts_with`, and must refuse `null`.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-942", "CWE-346"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// The request carrying `origin`: a simple GET, or a preflight for the endpoint's method.
fn probe(ctx: &ScanContext, endpoint: &Endpoint, origin: &str, preflight: bool) -> Request {
    let request = if preflight {
        Request::new("OPTIONS", &ctx.origin, endpoint.path.clone())
            .header("Origin", origin)
            .header("Access-Control-Request-Method", endpoint.method.clone())
            .header("Access-Control-Request-Headers", "authorization")
    } else {
        Request::get(&ctx.origin, endpoint.path.clone()).header("Origin", origin)
    };
    request.identity(ctx.primary_identity())
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let endpoints = endpoints(&ctx);
    let mut tally = Tally::new(endpoints.len());
    'endpoints: for endpoint in &endpoints {
        let mut answered = false;
        for preflight in [false, true] {
            // A policy that accepts anything is the reflected-origin check's finding.
            match ctx.send(id, Some(endpoint), probe(&ctx, endpoint, FOREIGN_ORIGIN, preflight)).await {
                Ok(exchange) => {
                    answered = true;
                    if accepted(&exchange, FOREIGN_ORIGIN).is_some() {
                        continue 'endpoints;
                    }
                }
                Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
                Err(e) => tally.error(e.chain()),
            }
        }
        for bypass in Bypass::ALL {
            let origin = bypass.origin(&ctx.origin.host);
            for preflight in [false, true] {
                let request = probe(&ctx, endpoint, &origin, preflight);
                match ctx.send(id, Some(endpoint), request.clone()).await {
                    Ok(exchange) => {
                        answered = true;
                        if let Some(credentials) = accepted(&exchange, &origin) {
                            reporter.observe(observation(
                                &ctx,
                                endpoint,
                                bypass,
                                &origin,
                                credentials,
                                &request,
                                &exchange,
                            ));
                            break;
                        }
                    }
                    Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
                    Err(e) => tally.error(e.chain()),
                }
            }
        }
        tally.endpoint(answered);
    }
    tally.verdict("probed with null, prefix and suffix origins")
}

/// Whether the response allows exactly `origin`; `Some(true)` when it also allows credentials.
pub fn accepted(exchange: &Exchange, origin: &str) -> Option<bool> {
    let response = &exchange.response;
    let allowed = response.header("access-control-allow-origin")?;
    if allowed.trim() != origin {
        return None;
    }
    Some(response.header("access-control-allow-credentials").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")))
}

fn observation(
    ctx: &ScanContext,
    endpoint: &Endpoint,
    bypass: Bypass,
    origin: &str,
    credentials: bool,
    request: &Request,
    exchange: &Exchange,
) -> Observation {
    let (severity, reach) = if credentials {
        (
            Severity::High,
            "with Access-Control-Allow-Credentials: true, so a page on that origin reads responses made with its visitors' cookies or credentials",
        )
    } else {
        (Severity::Low, "without credentials, so such a page reads only what an anonymous caller could")
    };
    Observation {
        endpoint: Some(endpoint.clone()),
        component: Some(bypass.component().to_string()),
        severity: Some(severity),
        confidence: Confidence::Confirmed,
        title: Some(match bypass {
            Bypass::Null => "CORS policy trusts the null Origin".to_string(),
            Bypass::Prefix => "CORS allow-list matches Origin by prefix".to_string(),
            Bypass::Suffix => "CORS allow-list matches Origin by suffix".to_string(),
        }),
        description: format!(
            "{} {} answered `Origin: {origin}` with `Access-Control-Allow-Origin: {origin}` {reach}, while the \
             foreign origin {FOREIGN_ORIGIN} was refused: {}.",
            request.method,
            endpoint.path,
            bypass.explain()
        ),
        evidence: vec![ctx.evidence(exchange, format!("The crafted Origin `{origin}` was accepted."))],
        reproduce: ctx.curl(request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::fixture;

    fn exchange(headers: &[(&str, &str)]) -> Exchange {
        fixture::exchange("https://127.0.0.1/", 200, headers, "")
    }

    #[test]
    fn crafted_origins_follow_the_host() {
        assert_eq!(Bypass::Null.origin("api.example.com"), "null");
        assert_eq!(Bypass::Prefix.origin("api.example.com"), "https://api.example.com.mortar-probe.example");
        assert_eq!(Bypass::Suffix.origin("api.example.com"), "https://mortar-probe-api.example.com");
    }

    #[test]
    fn accepted_only_when_the_exact_origin_comes_back() {
        let origin = "https://mortar-probe-127.0.0.1";
        let with_credentials =
            exchange(&[("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]);
        assert_eq!(accepted(&with_credentials, origin), Some(true));
        assert_eq!(accepted(&exchange(&[("access-control-allow-origin", "null")]), "null"), Some(false));
        // Negative: another origin, a wildcard, or no CORS header at all.
        assert_eq!(accepted(&exchange(&[("Access-Control-Allow-Origin", "https://app.example.com")]), origin), None);
        assert_eq!(accepted(&exchange(&[("Access-Control-Allow-Origin", "*")]), origin), None);
        assert_eq!(accepted(&exchange(&[]), "null"), None);
    }
}

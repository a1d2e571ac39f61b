//! Missing `X-Content-Type-Options: nosniff` on API responses, and HTML
//! responses (error pages included) that any site may frame.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::{Page, baselines};
use mortar_engine::{Exchange, Request, Response};
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::sync::Arc;

/// A path that exists nowhere, to see the error page (standard profile and up).
const NOT_FOUND_PROBE: &str = "mortar-not-found-5c2e9a";

/// The two issues, as finding components.
pub const NOSNIFF: &str = "x-content-type-options";
/// Framing protection: X-Frame-Options or CSP frame-ancestors.
pub const FRAMING: &str = "x-frame-options";

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "misconfiguration.security-headers",
        category: Category::Misconfiguration,
        severity: Severity::Low,
        profile: Profile::Passive,
        title: "Security headers missing on API responses",
        description: "Reads the API's responses and reports JSON, text, XML, script and HTML bodies sent without \
            `X-Content-Type-Options: nosniff` (a browser may then sniff them as HTML or script), and HTML \
            responses without framing protection (`X-Frame-Options: DENY|SAMEORIGIN` or a CSP \
            `frame-ancestors` directive). From the standard profile on, it also fetches a non-existent path, \
            because error pages are where HTML usually hides in an API. Bodiless responses and other media \
            types are not reported.",
        remediation: Remediation {
            summary: "Send `X-Content-Type-Options: nosniff` on every response, and \
                `Content-Security-Policy: frame-ancestors 'none'` (or `X-Frame-Options: DENY`) on every HTML one, \
                error pages included.",
            actix_web: "Wrap the App with `DefaultHeaders::new().add((\"X-Content-Type-Options\", \"nosniff\"))\
                .add((\"Content-Security-Policy\", \"frame-ancestors 'none'\"))`; default headers also apply to \
                the responses of `default_service` and error handlers.",
            axum: "Add tower-http `SetResponseHeaderLayer::if_not_present(X_CONTENT_TYPE_OPTIONS, \
                HeaderValue::from_static(\"nosniff\"))` and one for `CONTENT_SECURITY_POLICY` (`frame-ancestors \
                'none'`) with `.layer(..)` (not `route_layer`), so the fallback's 404 pages get them too.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-693", "CWE-1021"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let read = baselines(&ctx, id).await;
    for Page { endpoint, exchange } in &read.pages {
        report(&ctx, &reporter, endpoint, exchange);
    }
    let mut tally = read.tally;
    if ctx.settings.profile >= Profile::Standard {
        let base = &ctx.target.base_path;
        let path =
            if base.ends_with('/') { format!("{base}{NOT_FOUND_PROBE}") } else { format!("{base}/{NOT_FOUND_PROBE}") };
        let endpoint = Endpoint::new("GET", path.clone());
        tally.tried += 1;
        let request = Request::get(&ctx.origin, path).identity(ctx.primary_identity());
        match ctx.send(id, Some(&endpoint), request).await {
            Ok(exchange) => report(&ctx, &reporter, &endpoint, &exchange),
            Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
            Err(e) => tally.failure(e.chain()),
        }
    }
    // Counted in requests, not endpoints: the not-found probe is no endpoint.
    match (tally.tried, tally.failed) {
        (0, _) => CheckVerdict::Skipped("no endpoint reachable with a safe method".into()),
        (t, f) if f == t => CheckVerdict::Inconclusive(format!(
            "no response from any of {t} request(s): {}",
            tally.last_error.unwrap_or_default()
        )),
        (t, f) => CheckVerdict::Ran(format!("security headers read on {} response(s)", t - f)),
    }
}

fn report(ctx: &ScanContext, reporter: &Reporter, endpoint: &Endpoint, exchange: &Exchange) {
    let request = Request::get(&ctx.origin, endpoint.path.clone()).identity(ctx.primary_identity());
    let response = &exchange.response;
    let media = media_type(response).unwrap_or_else(|| "no Content-Type".to_string());
    for missing in missing_headers(response) {
        let (title, description, note) = if missing == NOSNIFF {
            (
                "X-Content-Type-Options: nosniff missing",
                format!(
                    "GET {} answers {} ({media}) without `X-Content-Type-Options: nosniff`: a browser led to this \
                     URL may sniff the body as HTML or script, turning reflected data into script.",
                    endpoint.path, response.status
                ),
                "The response has a body and no X-Content-Type-Options: nosniff.",
            )
        } else {
            (
                "HTML response without framing protection",
                format!(
                    "GET {} answers {} with an HTML page and neither X-Frame-Options nor a CSP frame-ancestors \
                     directive: any site may frame it (clickjacking).",
                    endpoint.path, response.status
                ),
                "The HTML response has neither X-Frame-Options nor CSP frame-ancestors.",
            )
        };
        reporter.observe(Observation {
            endpoint: Some(endpoint.clone()),
            component: Some(missing.to_string()),
            severity: None,
            confidence: Confidence::Firm,
            title: Some(title.to_string()),
            description,
            evidence: vec![ctx.evidence(exchange, note)],
            reproduce: ctx.curl(&request),
        });
    }
}

/// The media type, lower-case, without parameters.
fn media_type(response: &Response) -> Option<String> {
    let value = response.header("content-type")?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Which of [`NOSNIFF`] and [`FRAMING`] a response should carry and does not.
pub fn missing_headers(response: &Response) -> Vec<&'static str> {
    if response.body.is_empty() {
        return Vec::new();
    }
    let media = media_type(response);
    let m = media.as_deref().unwrap_or("");
    let html = m == "text/html" || m == "application/xhtml+xml";
    let sniffable = media.is_none()
        || m.starts_with("text/")
        || m.ends_with("json")
        || m.ends_with("+json")
        || m.ends_with("xml")
        || m.ends_with("javascript");
    let mut missing = Vec::new();
    let nosniff =
        response.header_all("x-content-type-options").iter().any(|v| v.trim().eq_ignore_ascii_case("nosniff"));
    if sniffable && !nosniff {
        missing.push(NOSNIFF);
    }
    if html && !framing_protected(response) {
        missing.push(FRAMING);
    }
    missing
}

fn framing_protected(response: &Response) -> bool {
    let xfo = response.header_all("x-frame-options").iter().any(|v| {
        let v = v.trim();
        v.eq_ignore_ascii_case("deny") || v.eq_ignore_ascii_case("sameorigin")
    });
    let csp = response
        .header_all("content-security-policy")
        .iter()
        .any(|policy| policy.split(';').any(|d| d.trim().to_ascii_lowercase().starts_with("frame-ancestors")));
    xfo || csp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::fixture::exchange;

    fn missing(headers: &[(&str, &str)], body: &str) -> Vec<&'static str> {
        missing_headers(&exchange("https://h/", 200, headers, body).response)
    }

    #[test]
    fn json_without_nosniff_is_reported_and_with_it_is_not() {
        assert_eq!(missing(&[("Content-Type", "application/json")], "{}"), vec![NOSNIFF]);
        assert_eq!(missing(&[("Content-Type", "application/problem+json; charset=utf-8")], "{}"), vec![NOSNIFF]);
        assert!(
            missing(&[("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff")], "{}").is_empty()
        );
        // Bodiless answers and binary media types are not at risk.
        assert!(missing(&[("Content-Type", "application/json")], "").is_empty());
        assert!(missing(&[("Content-Type", "image/png")], "\u{89}PNG").is_empty());
    }

    #[test]
    fn html_needs_framing_protection() {
        let nosniff = ("X-Content-Type-Options", "nosniff");
        assert_eq!(missing(&[("Content-Type", "text/html"), nosniff], "<h1>Not Found</h1>"), vec![FRAMING]);
        assert_eq!(missing(&[("Content-Type", "text/html")], "<h1>x</h1>"), vec![NOSNIFF, FRAMING]);
        for protection in [
            ("X-Frame-Options", "DENY"),
            ("X-Frame-Options", "sameorigin"),
            ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ] {
            assert!(missing(&[("Content-Type", "text/html"), nosniff, protection], "<p>").is_empty(), "{protection:?}");
        }
        // A CSP without frame-ancestors, or the obsolete ALLOW-FROM, does not protect.
        assert_eq!(
            missing(
                &[("Content-Type", "text/html"), nosniff, ("Content-Security-Policy", "default-src 'self'")],
                "<p>"
            ),
            vec![FRAMING]
        );
        assert_eq!(
            missing(&[("Content-Type", "text/html"), nosniff, ("X-Frame-Options", "ALLOW-FROM https://a")], "<p>"),
            vec![FRAMING]
        );
        // JSON never needs framing protection.
        assert!(missing(&[("Content-Type", "application/json"), nosniff], "{}").is_empty());
    }
}

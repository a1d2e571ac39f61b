//! The API answers over plain http:// instead of redirecting to https://.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::{Page, Tally, baselines, endpoints};
use mortar_engine::{Exchange, Origin, Request, Response};
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "encryption.plaintext-http",
        category: Category::Encryption,
        severity: Severity::High,
        profile: Profile::Passive,
        title: "API served over plaintext HTTP",
        description: "When the target is an http:// URL, reads the answer of each endpoint without following \
            redirects and reports those served over plaintext instead of redirected (301/302/307/308) to \
            https:// or refused (426, or a refusal that names HTTPS/TLS): credentials, tokens and data then \
            cross the network readable and modifiable. For an https:// target on port 443, the standard \
            profile also asks http:// on port 80 of the same host.",
        remediation: Remediation {
            summary: "Serve the API over HTTPS only: answer every plain-HTTP request with a 308 redirect to the \
                https:// URL (or close the port), and send HSTS on the HTTPS responses.",
            actix_web: "Terminate TLS in actix (`HttpServer::bind_rustls_0_23`) and bind the plain port only to an \
                App whose `default_service` returns `HttpResponse::PermanentRedirect().insert_header((LOCATION, \
                format!(\"https://{host}{uri}\")))`; or let the reverse proxy do the redirect.",
            axum: "Serve the Router only on the TLS listener (axum-server `bind_rustls` or tokio-rustls), and on \
                the plain port serve a `Router::new().fallback(redirect_to_https)` that returns \
                `Redirect::permanent(&format!(\"https://{host}{uri}\"))`; or let the reverse proxy redirect.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-319"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    if ctx.origin.https {
        // The plain twin of an https:// API on the default port is port 80; for any
        // other port there is no way to tell which plain port belongs to it.
        if ctx.origin.port != 443 || ctx.settings.profile < Profile::Standard {
            return CheckVerdict::Skipped(
                "the target is HTTPS and no plaintext twin is known (only port 443 → 80 is probed, from the \
                 standard profile on)"
                    .into(),
            );
        }
        let plain = Origin { https: false, host: ctx.origin.host.clone(), port: 80 };
        let endpoints = endpoints(&ctx);
        let mut tally = Tally::new(endpoints.len());
        for endpoint in &endpoints {
            let request = Request::get(&plain, endpoint.path.clone()).identity(ctx.primary_identity());
            match ctx.send(id, Some(endpoint), request.clone()).await {
                Ok(exchange) => observe(&ctx, &reporter, endpoint, &request, &exchange),
                Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
                Err(e) => tally.failure(e.chain()),
            }
        }
        // Nothing listening on port 80 is the good outcome, not an inconclusive one.
        if tally.failed == tally.tried && tally.failed > 0 {
            return CheckVerdict::Ran(format!(
                "http://{}:80 does not answer: {}",
                ctx.origin.host,
                tally.last_error.unwrap_or_default()
            ));
        }
        return tally.verdict("plaintext port 80 probed");
    }
    let read = baselines(&ctx, id).await;
    for Page { endpoint, exchange } in &read.pages {
        let request = Request::get(&ctx.origin, endpoint.path.clone()).identity(ctx.primary_identity());
        observe(&ctx, &reporter, endpoint, &request, exchange);
    }
    read.verdict("plaintext answers read")
}

fn observe(ctx: &ScanContext, reporter: &Reporter, endpoint: &Endpoint, request: &Request, exchange: &Exchange) {
    if !served_in_plaintext(&exchange.response) {
        return;
    }
    let response = &exchange.response;
    let what = match response.header("location") {
        Some(location) if (300..400).contains(&response.status) => {
            format!("redirects with {} to {location}, which is not https://", response.status)
        }
        _ => format!("answers {} with the API's content", response.status),
    };
    let credentials = request.identity.as_ref().is_some_and(|i| !i.headers.is_empty());
    reporter.observe(Observation {
        endpoint: Some(endpoint.clone()),
        component: None,
        severity: None,
        confidence: Confidence::Confirmed,
        title: None,
        description: format!(
            "GET {} over plain HTTP {what} instead of redirecting to https://: requests{} and responses travel \
             unencrypted, readable and modifiable by anyone on the network path.",
            request.url(),
            if credentials { ", the credentials they carry included," } else { "" }
        ),
        evidence: vec![ctx.evidence(exchange, "The API answered over plaintext HTTP without redirecting to HTTPS.")],
        reproduce: ctx.curl(request),
    });
}

/// Whether a plain-HTTP answer serves the API: anything but a redirect to https://,
/// a 426 Upgrade Required, or a 4xx refusal that tells the client to use HTTPS.
pub fn served_in_plaintext(response: &Response) -> bool {
    let status = response.status;
    if (300..400).contains(&status) {
        return !response.header("location").is_some_and(|l| l.trim().to_ascii_lowercase().starts_with("https://"));
    }
    if status == 426 {
        return false;
    }
    if (400..500).contains(&status) {
        let body = response.text().to_ascii_lowercase();
        if ["https", "tls", "ssl"].iter().any(|w| body.contains(w)) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::fixture::exchange;

    fn plaintext(status: u16, headers: &[(&str, &str)], body: &str) -> bool {
        served_in_plaintext(&exchange("http://h/", status, headers, body).response)
    }

    #[test]
    fn content_and_plain_redirects_are_plaintext() {
        assert!(plaintext(200, &[("Content-Type", "application/json")], "{\"orders\":[]}"));
        assert!(plaintext(401, &[], "{\"error\":\"unauthorized\"}"));
        assert!(plaintext(301, &[("Location", "http://h/api/")], ""));
        assert!(plaintext(302, &[("Location", "/login")], ""));
    }

    #[test]
    fn redirects_to_https_and_refusals_are_not() {
        assert!(!plaintext(301, &[("Location", "https://h/api/")], ""));
        assert!(!plaintext(308, &[("location", "HTTPS://h:8443/api/?q=1")], ""));
        assert!(!plaintext(426, &[("Upgrade", "TLS/1.2")], ""));
        assert!(!plaintext(403, &[], "{\"error\":\"HTTPS required\"}"));
    }
}

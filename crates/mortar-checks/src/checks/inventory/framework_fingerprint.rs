//! Which Rust web framework answers (actix-web or axum), from behaviour:
//! neither sends a Server header. The result tailors every finding's
//! remediation; it is not a finding itself (it would fire on every target).
//!
//! Signals, each measured on the lab's real servers (see the integration test
//! `passive_exposure::framework_is_detected_from_behaviour`):
//! - HEAD on a GET route: axum answers it like the GET (its router serves HEAD
//!   for every GET route); actix-web's `web::get()` guard does not match HEAD,
//!   so it answers 404 (or 405 inside a resource).
//! - OPTIONS on a route without an OPTIONS handler: axum answers 405 with an
//!   `allow` header; actix-web 404, or 405 without `allow`.
//! - Header order on HTTP/1.1: actix-http writes `content-length` before every
//!   other header; hyper (under axum) writes it after the handler's headers.
//!
//! Both write header names in lower case on HTTP/1.1, unlike most other
//! servers and proxies: a response with a `Content-Type`-style name decides
//! "not determined" before any vote.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::verdict;
use mortar_engine::{Exchange, HttpVersion};
use mortar_model::{Category, CheckInfo, Framework, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "inventory.framework-fingerprint",
        category: Category::Inventory,
        severity: Severity::Info,
        profile: Profile::Passive,
        title: "Web framework fingerprint (actix-web or axum)",
        description: "Tells actix-web from axum by behaviour (HEAD and OPTIONS on a GET route, the position of \
            content-length among the response headers) so that every finding's remediation is written for the \
            framework in front of mortar. It reports no finding: the coverage note says what was detected and \
            from which signals. `--framework` overrides it.",
        remediation: Remediation {
            summary: "Nothing to fix: this check only selects framework-specific remediation text.",
            actix_web: "Nothing to fix; detection relies on default actix-web behaviour and does not reveal a version.",
            axum: "Nothing to fix; detection relies on default axum/hyper behaviour and does not reveal a version.",
        },
        references: References { owasp_api: &["API9:2023"], cwe: &["CWE-200"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Votes from one response or probe.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Votes {
    /// Signals pointing at actix-web.
    pub actix: Vec<&'static str>,
    /// Signals pointing at axum.
    pub axum: Vec<&'static str>,
}

impl Votes {
    /// The framework when at least two signals agree and none disagrees.
    pub fn decide(&self) -> Option<Framework> {
        match (self.actix.len(), self.axum.len()) {
            (a, 0) if a >= 2 => Some(Framework::ActixWeb),
            (0, x) if x >= 2 => Some(Framework::Axum),
            _ => None,
        }
    }
}

/// Whether every header name is lower-case, as actix-http and hyper write them on
/// HTTP/1.1 (most other servers and proxies write `Content-Type`).
pub fn lower_case_names(headers: &[(String, Vec<u8>)]) -> bool {
    headers.iter().all(|(n, _)| !n.bytes().any(|b| b.is_ascii_uppercase()))
}

/// Position of content-length among a response's headers (HTTP/1.1 only).
pub fn header_order_vote(headers: &[(String, Vec<u8>)], votes: &mut Votes) {
    let names: Vec<String> =
        headers.iter().map(|(n, _)| n.to_ascii_lowercase()).filter(|n| n != "date" && n != "connection").collect();
    let Some(pos) = names.iter().position(|n| n == "content-length") else { return };
    if names.len() < 2 {
        return;
    }
    if pos == 0 {
        votes.actix.push("content-length written before the handler's headers (actix-http)");
    } else {
        votes.axum.push("content-length written after the handler's headers (hyper)");
    }
}

/// HEAD on a route whose GET succeeded.
pub fn head_vote(get_status: u16, head_status: u16, votes: &mut Votes) {
    if !(200..300).contains(&get_status) {
        return;
    }
    if head_status == get_status {
        votes.axum.push("HEAD served like GET on a GET-only route (axum)");
    } else if matches!(head_status, 404 | 405) {
        votes.actix.push("HEAD refused on a GET route (actix-web's web::get() guard)");
    }
}

/// OPTIONS on a route whose GET succeeded.
pub fn options_vote(get_status: u16, options: &Exchange, votes: &mut Votes) {
    if !(200..300).contains(&get_status) {
        return;
    }
    let status = options.response.status;
    let allow = options.response.header("allow").is_some();
    match status {
        405 if allow => votes.axum.push("405 with an allow header for OPTIONS (axum's method router)"),
        405 | 404 => votes.actix.push("OPTIONS answered 404/405 without allow (actix-web)"),
        _ => {}
    }
}

async fn run(ctx: Arc<ScanContext>, _reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let Some(endpoint) = ctx.safe_endpoints().next().cloned() else {
        return CheckVerdict::Skipped("no endpoint reachable with a safe method".into());
    };
    let baseline = match ctx.baseline(id, &endpoint).await {
        Ok(ex) => ex,
        Err(e) => return verdict("fingerprinted", 1, 1, Some(e)),
    };
    let mut votes = Votes::default();
    let get_status = baseline.response.status;
    if baseline.response.version == HttpVersion::Http11 {
        if !lower_case_names(&baseline.response.headers) {
            return CheckVerdict::Ran(
                "framework not determined: response header names are not all lower-case, so neither actix-http \
                 nor hyper (axum) wrote them (another server or a proxy answers)"
                    .into(),
            );
        }
        header_order_vote(&baseline.response.headers, &mut votes);
    }
    let head = ctx.request("HEAD", &endpoint).identity(ctx.primary_identity());
    match ctx.send(id, Some(&endpoint), head).await {
        Ok(ex) => head_vote(get_status, ex.response.status, &mut votes),
        Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
        Err(_) => {}
    }
    let options = ctx.request("OPTIONS", &endpoint).identity(ctx.primary_identity());
    match ctx.send(id, Some(&endpoint), options).await {
        Ok(ex) => options_vote(get_status, &ex, &mut votes),
        Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
        Err(_) => {}
    }
    let signals = |v: &[&str]| if v.is_empty() { "none".to_string() } else { v.join("; ") };
    match votes.decide() {
        Some(framework) => {
            ctx.set_detected_framework(framework);
            let name = if framework == Framework::ActixWeb { "actix-web" } else { "axum" };
            let why = if framework == Framework::ActixWeb { &votes.actix } else { &votes.axum };
            CheckVerdict::Ran(format!("detected framework: {name} ({})", signals(why)))
        }
        None => CheckVerdict::Ran(format!(
            "framework not determined (actix-web signals: {}; axum signals: {})",
            signals(&votes.actix),
            signals(&votes.axum)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<(String, Vec<u8>)> {
        names.iter().map(|n| (n.to_string(), b"x".to_vec())).collect()
    }

    #[test]
    fn header_order_tells_actix_http_from_hyper() {
        let mut v = Votes::default();
        header_order_vote(&h(&["content-length", "content-type", "date"]), &mut v);
        assert_eq!((v.actix.len(), v.axum.len()), (1, 0));
        let mut v = Votes::default();
        header_order_vote(&h(&["content-type", "vary", "content-length", "date"]), &mut v);
        assert_eq!((v.actix.len(), v.axum.len()), (0, 1));
        // A bare 404 (content-length and date only) says nothing.
        let mut v = Votes::default();
        header_order_vote(&h(&["content-length", "date"]), &mut v);
        assert_eq!(v, Votes::default());
    }

    #[test]
    fn title_case_header_names_rule_both_out() {
        assert!(lower_case_names(&h(&["content-type", "content-length", "date"])));
        assert!(!lower_case_names(&h(&["Server", "Content-Length"])));
    }

    #[test]
    fn decisions_need_two_agreeing_signals() {
        let mut v = Votes::default();
        head_vote(200, 200, &mut v);
        assert_eq!(v.decide(), None);
        header_order_vote(&h(&["content-type", "content-length"]), &mut v);
        assert_eq!(v.decide(), Some(Framework::Axum));
        head_vote(200, 404, &mut v);
        assert_eq!(v.decide(), None, "conflicting signals decide nothing");
        let mut v = Votes::default();
        head_vote(200, 404, &mut v);
        header_order_vote(&h(&["content-length", "content-type"]), &mut v);
        assert_eq!(v.decide(), Some(Framework::ActixWeb));
        // Nothing is inferred from an endpoint that did not answer 2xx.
        let mut v = Votes::default();
        head_vote(401, 401, &mut v);
        assert_eq!(v, Votes::default());
    }
}

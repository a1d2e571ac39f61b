//! Software versions announced in response headers.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::{Page, baselines};
use mortar_engine::Request;
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Headers in which servers and frameworks announce themselves.
/// (lower-case name, name as documented).
const PRODUCT_HEADERS: &[(&str, &str)] = &[
    ("server", "Server"),
    ("x-powered-by", "X-Powered-By"),
    ("x-aspnet-version", "X-AspNet-Version"),
    ("x-aspnetmvc-version", "X-AspNetMvc-Version"),
    ("x-generator", "X-Generator"),
];

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "inventory.version-disclosure",
        category: Category::Inventory,
        severity: Severity::Low,
        profile: Profile::Passive,
        title: "Software version disclosed in response headers",
        description: "Reads the Server, X-Powered-By, X-AspNet-Version, X-AspNetMvc-Version and X-Generator \
            headers of normal responses and reports those that carry a version number (product/1.2.3 or \
            `Python 3.10`). A \
            version lets an attacker pick known exploits for exactly what runs; a bare product name is not \
            reported.",
        remediation: Remediation {
            summary: "Stop sending version numbers in response headers (remove Server/X-Powered-By or reduce them to a bare name).",
            actix_web: "actix-web sends no Server header itself: remove the `DefaultHeaders::new().add((\"Server\", ...))` \
                or `insert_header` calls that add it, and strip X-Powered-By in the reverse proxy \
                (nginx: `server_tokens off; proxy_hide_header X-Powered-By;`).",
            axum: "axum sends no Server header itself: remove the tower-http `SetResponseHeaderLayer` that adds it, \
                or override it with `SetResponseHeaderLayer::overriding(SERVER, HeaderValue::from_static(\"api\"))`; \
                strip X-Powered-By in the reverse proxy.",
        },
        references: References { owasp_api: &["API8:2023", "API9:2023"], cwe: &["CWE-200", "CWE-497"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let read = baselines(&ctx, CHECK.info.id).await;
    let mut reported: BTreeSet<(String, String)> = BTreeSet::new();
    for Page { endpoint, exchange } in &read.pages {
        for (name, value) in &exchange.response.headers {
            let lower = name.to_ascii_lowercase();
            let Some(&(_, name)) = PRODUCT_HEADERS.iter().find(|(l, _)| *l == lower) else {
                continue;
            };
            let value = String::from_utf8_lossy(value).trim().to_string();
            let Some(version) = disclosed_version(&lower, &value) else { continue };
            if !reported.insert((lower.clone(), endpoint.path.clone())) {
                continue;
            }
            let request = Request::get(&ctx.origin, endpoint.path.clone()).identity(ctx.primary_identity());
            reporter.observe(Observation {
                endpoint: Some(endpoint.clone()),
                component: Some(lower.clone()),
                severity: None,
                confidence: Confidence::Firm,
                title: Some(format!("Software version disclosed in the {name} header")),
                description: format!(
                    "{} {} answers with `{name}: {value}`, announcing version {version}.",
                    endpoint.method, endpoint.path
                ),
                evidence: vec![ctx.evidence(exchange, format!("The {name} header carries a version number."))],
                reproduce: ctx.curl(&request),
            });
        }
    }
    read.verdict("response headers read")
}

/// The version announced in a product header, if any: `name/1.2[.3]` tokens, or a bare
/// dotted number in headers that only ever hold a version.
pub fn disclosed_version(header: &str, value: &str) -> Option<String> {
    let is_version = |v: &str| {
        let v = v.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let mut parts = v.split('.');
        let first = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        !first.is_empty()
            && first.chars().all(|c| c.is_ascii_digit())
            && !rest.is_empty()
            && rest[0].chars().next().is_some_and(|c| c.is_ascii_digit())
    };
    if header.starts_with("x-aspnet") {
        return is_version(value).then(|| value.to_string());
    }
    let tokens: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '(' || c == ')')
        .filter(|t| !t.is_empty())
        .collect();
    let slashed = tokens
        .iter()
        .filter_map(|token| token.split_once('/'))
        .find(|(name, version)| !name.is_empty() && is_version(version))
        .map(|(name, version)| format!("{name}/{version}"));
    // Also `Python 3.10, FastAPI ^0.103.0`: a product name, then its version
    // as the next word (a range marker such as `^` or `~` or a `v` allowed).
    let spaced = || {
        tokens.windows(2).find_map(|pair| {
            let (name, version) = (pair[0], pair[1]);
            let bare = version.trim_start_matches(['^', '~', '=', 'v', 'V']);
            (name.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && !name.contains('/') && is_version(bare))
                .then(|| format!("{name} {version}"))
        })
    };
    slashed.or_else(spaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versions_not_bare_names() {
        assert_eq!(disclosed_version("server", "nginx/1.18.0 (Ubuntu)").as_deref(), Some("nginx/1.18.0"));
        assert_eq!(disclosed_version("x-powered-by", "PHP/8.1.2").as_deref(), Some("PHP/8.1.2"));
        assert_eq!(disclosed_version("x-aspnet-version", "4.0.30319").as_deref(), Some("4.0.30319"));
        assert_eq!(disclosed_version("server", "nginx"), None);
        assert_eq!(disclosed_version("server", "cloudflare"), None);
        assert_eq!(disclosed_version("x-powered-by", "Express"), None);
        assert_eq!(disclosed_version("server", "api/v2"), None);
        assert_eq!(disclosed_version("x-powered-by", "Python 3.10, FastAPI ^0.103.0").as_deref(), Some("Python 3.10"));
        assert_eq!(disclosed_version("server", "Jetty v9.4.51").as_deref(), Some("Jetty v9.4.51"));
        assert_eq!(disclosed_version("server", "Gateway 2"), None, "a bare integer is no version");
        assert_eq!(disclosed_version("x-powered-by", "Express for API v2"), None);
    }
}

//! API description documents and interactive consoles served to anyone,
//! proven by their content (never by status alone).

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::Tally;
use mortar_engine::{Exchange, Request};
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "inventory.spec-exposed",
        category: Category::Inventory,
        severity: Severity::Low,
        profile: Profile::Passive,
        title: "API description or console publicly served",
        description: "Requests the usual locations of OpenAPI/Swagger documents (openapi.json/.yaml, \
            swagger.json, v2/v3 api-docs) and consoles (Swagger UI, ReDoc, RapiDoc, GraphiQL, GraphQL \
            Playground) at the server root and under the base path, and reports those proven by content: a \
            document with an `openapi` or `swagger` version and `paths`, or the console's HTML. A public spec \
            can be intended (a public API); otherwise it maps every operation, hidden ones included, for an \
            attacker. The URLs found are listed in the finding.",
        remediation: Remediation {
            summary: "Serve API descriptions and consoles only where intended: behind authentication or on an \
                internal host, and not from production builds of private APIs.",
            actix_web: "Register the utoipa-swagger-ui / paperclip / apistos service only in non-production \
                builds (`#[cfg(debug_assertions)]` or a config flag around `.service(SwaggerUi::new(..))`), or \
                wrap its scope in your authentication middleware.",
            axum: "Merge the utoipa-swagger-ui / aide / redoc router only in non-production builds (a config flag \
                around `.merge(SwaggerUi::new(..))`), or put a `route_layer` with your authentication \
                middleware on it.",
        },
        references: References { owasp_api: &["API9:2023", "API8:2023"], cwe: &["CWE-200", "CWE-1059"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Locations probed, relative to the server root and to the base path.
const LOCATIONS: &[&str] = &[
    "openapi.json",
    "openapi.yaml",
    "swagger.json",
    "v3/api-docs",
    "v2/api-docs",
    "api-docs",
    "docs",
    "swagger-ui/",
    "swagger-ui.html",
    "redoc",
    "graphiql",
    "graphql",
];

/// A path no API serves: how the server answers it tells whether it answers every path alike.
const CANARY: &str = "mortar-no-such-document-7f3a";

/// What a response was proven to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// An OpenAPI 3.x document.
    OpenApi,
    /// A Swagger 2.0 document.
    Swagger,
    /// An interactive console (the name).
    Console(&'static str),
}

impl Served {
    fn component(self) -> &'static str {
        match self {
            Served::OpenApi | Served::Swagger => "api-description",
            Served::Console(_) => "console",
        }
    }

    fn name(self) -> String {
        match self {
            Served::OpenApi => "OpenAPI document".into(),
            Served::Swagger => "Swagger 2.0 document".into(),
            Served::Console(name) => name.to_string(),
        }
    }
}

/// Recognises a description document or a console by its content.
pub fn recognise(body: &str) -> Option<Served> {
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(trimmed).ok()?;
        let obj = value.as_object()?;
        let has = |k: &str| obj.contains_key(k);
        if !(has("paths") || has("info") || has("webhooks")) {
            return None;
        }
        let version = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if version("openapi").is_some_and(|v| v.starts_with('3')) {
            return Some(Served::OpenApi);
        }
        if version("swagger").is_some_and(|v| v.starts_with('2')) {
            return Some(Served::Swagger);
        }
        return None;
    }
    // YAML: top-level keys at column 0.
    let top = |key: &str| body.lines().find_map(|l| l.strip_prefix(key).map(|v| v.trim().trim_matches(['"', '\''])));
    let structured = body.lines().any(|l| l.starts_with("paths:") || l.starts_with("info:"));
    if structured && top("openapi:").is_some_and(|v| v.starts_with('3')) {
        return Some(Served::OpenApi);
    }
    if structured && top("swagger:").is_some_and(|v| v.starts_with('2')) {
        return Some(Served::Swagger);
    }
    let lower = body.to_ascii_lowercase();
    if !(lower.contains("<html") || lower.contains("<!doctype html")) {
        return None;
    }
    if lower.contains("swaggeruibundle") || lower.contains("swagger-ui-bundle.js") {
        return Some(Served::Console("Swagger UI"));
    }
    if lower.contains("<redoc") || lower.contains("redoc.standalone.js") || lower.contains("redoc.init(") {
        return Some(Served::Console("ReDoc"));
    }
    if lower.contains("<rapi-doc") {
        return Some(Served::Console("RapiDoc"));
    }
    if lower.contains("graphqlplayground.init") || lower.contains("graphql-playground") {
        return Some(Served::Console("GraphQL Playground"));
    }
    if lower.contains("graphiql.min.js")
        || lower.contains("<div id=\"graphiql\"")
        || lower.contains("graphiql.createfetcher")
    {
        return Some(Served::Console("GraphiQL"));
    }
    None
}

/// The path of the URL the user gave (an API description found on the way may
/// move the scan's base path, e.g. to `/` when its paths are absolute).
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split(['?', '#']).next().unwrap_or("/").to_string()
}

/// The probe paths: each location at the root and under each base path, without duplicates.
fn probe_paths(base_paths: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prefixes = vec!["/".to_string()];
    for base_path in base_paths {
        let base = if base_path.ends_with('/') { base_path.to_string() } else { format!("{base_path}/") };
        if !prefixes.contains(&base) {
            prefixes.push(base);
        }
    }
    for prefix in prefixes {
        for loc in LOCATIONS {
            let p = format!("{prefix}{loc}");
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let given = url_path(&ctx.target.url);
    let paths = probe_paths(&[&given, &ctx.target.base_path]);
    let mut tally = Tally::new(paths.len());
    // A server that answers an unknown path with more than the body cap answers
    // every path so: a document cut at the cap cannot be proven by content, and
    // each probe would cost a capped read.
    let base = ctx.target.base_path.trim_end_matches('/');
    let canary_path = format!("{base}/{CANARY}");
    let canary_endpoint = Endpoint::new("GET", canary_path.clone());
    let canary = Request::get(&ctx.origin, canary_path).identity(ctx.primary_identity());
    let canary_body = match ctx.send(id, Some(&canary_endpoint), canary).await {
        Ok(ex) if (200..300).contains(&ex.response.status) && ex.response.body_truncated => {
            return CheckVerdict::Inconclusive(format!(
                "an unknown path answers HTTP {} with a body over the size cap: documents cannot be proven by \
                 content on this server",
                ex.response.status
            ));
        }
        Ok(ex) if (200..300).contains(&ex.response.status) => Some(ex.response.body.clone()),
        Ok(_) => None,
        Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
        Err(_) => None,
    };
    let mut hits: Vec<(Served, Endpoint, Request, Exchange)> = Vec::new();
    for path in &paths {
        let endpoint = Endpoint::new("GET", path.clone());
        let request = Request::get(&ctx.origin, path.clone())
            .header("Accept", "text/html,application/json;q=0.9,*/*;q=0.8")
            .identity(ctx.primary_identity());
        match ctx.send(id, Some(&endpoint), request.clone()).await {
            Ok(exchange) => {
                // A catch-all page (the same body for any path) proves nothing about this location.
                let ok = (200..300).contains(&exchange.response.status)
                    && canary_body.as_ref().is_none_or(|c| *c != exchange.response.body);
                if let Some(served) = ok.then(|| recognise(&exchange.response.text())).flatten() {
                    hits.push((served, endpoint, request, exchange));
                }
            }
            Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
            Err(e) => tally.failure(e.chain()),
        }
    }
    for component in ["api-description", "console"] {
        let group: Vec<&(Served, Endpoint, Request, Exchange)> =
            hits.iter().filter(|h| h.0.component() == component).collect();
        let listed: Vec<String> = group.iter().map(|(s, _, r, _)| format!("{} at {}", s.name(), r.url())).collect();
        for (served, endpoint, request, exchange) in &group {
            let (title, what) = match component {
                "api-description" => ("API description document publicly served", "API description document(s)"),
                _ => ("Interactive API console publicly served", "API console(s)"),
            };
            reporter.observe(Observation {
                endpoint: Some(endpoint.clone()),
                component: Some(component.to_string()),
                severity: None,
                confidence: Confidence::Confirmed,
                title: Some(title.to_string()),
                description: format!(
                    "Served without authentication, {what}: {}. If the API is not meant to be public, this maps \
                     its operations for anyone.",
                    listed.join("; ")
                ),
                evidence: vec![ctx.evidence(exchange, format!("The body is a {}.", served.name()))],
                reproduce: ctx.curl(request),
            });
        }
    }
    match tally.verdict("API description and console locations probed") {
        CheckVerdict::Ran(note) if !hits.is_empty() => CheckVerdict::Ran(format!(
            "{note}; found: {}",
            hits.iter().map(|(_, e, _, _)| e.path.clone()).collect::<Vec<_>>().join(", ")
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_documents_and_consoles_by_content() {
        assert_eq!(recognise(r#"{"openapi":"3.1.0","info":{"title":"x"},"paths":{}}"#), Some(Served::OpenApi));
        assert_eq!(recognise(r#" {"swagger":"2.0","paths":{}}"#), Some(Served::Swagger));
        assert_eq!(recognise("openapi: 3.0.3\ninfo:\n  title: x\npaths: {}\n"), Some(Served::OpenApi));
        assert_eq!(recognise("swagger: \"2.0\"\npaths: {}\n"), Some(Served::Swagger));
        let swagger_ui = r#"<!DOCTYPE html><html><body><div id="swagger-ui"></div>
            <script src="./swagger-ui-bundle.js"></script><script>SwaggerUIBundle({url:"/api/openapi.json"})</script></body></html>"#;
        assert_eq!(recognise(swagger_ui), Some(Served::Console("Swagger UI")));
        assert_eq!(recognise("<html><redoc spec-url='/openapi.json'></redoc></html>"), Some(Served::Console("ReDoc")));
        assert_eq!(
            recognise("<html><script>GraphQLPlayground.init(root, {})</script></html>"),
            Some(Served::Console("GraphQL Playground"))
        );
    }

    #[test]
    fn ignores_lookalikes() {
        for body in [
            r#"{"openapi":"not a spec"}"#,
            r#"{"service":"orders","version":"v1"}"#,
            r#"{"error":"not found"}"#,
            r#"{"openapi":"3.0.0"}"#,
            "<html><body>Read our docs about swagger-ui and graphiql</body></html>",
            "User-agent: *\nDisallow: /",
            "",
        ] {
            assert_eq!(recognise(body), None, "{body}");
        }
    }

    #[test]
    fn probes_root_and_base_path() {
        let p = probe_paths(&["/api/", "/"]);
        assert!(p.contains(&"/openapi.json".to_string()) && p.contains(&"/api/openapi.json".to_string()));
        assert_eq!(p.len(), 2 * LOCATIONS.len());
        assert_eq!(probe_paths(&["/", "/"]).len(), LOCATIONS.len());
        assert_eq!(url_path("https://h:1/api/v1?x=1"), "/api/v1");
        assert_eq!(url_path("https://h:1"), "/");
    }
}

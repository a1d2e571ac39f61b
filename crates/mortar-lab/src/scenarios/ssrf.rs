//! Server-side fetches of caller-supplied URLs, scanned with an OpenAPI
//! description and one customer's token. The lab's fetcher only ever
//! connects to loopback addresses over plain HTTP, whatever it is given, so
//! no variant can reach past the machine.
//!
//! - `ssrf-preview` (axum): `GET /link-preview?url=` fetches the page to show
//!   its title. Vulnerable: any URL, redirects followed. Fixed: only the
//!   media CDN's host is allowed (everything else is a 400, nothing fetched),
//!   and redirects are not followed.
//! - `ssrf-webhook` (actix-web, active profile): `POST /webhooks` registers a
//!   callback and sends it a test delivery at once. Vulnerable: any URL.
//!   Fixed: only `https` URLs on the partner domain.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, web};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const PREVIEW: Scenario = Scenario { name: "ssrf-preview", start: start_preview };
pub(super) const WEBHOOK: Scenario = Scenario { name: "ssrf-webhook", start: start_webhook };

/// The one host the fixed preview may fetch from.
const MEDIA_HOST: &str = "media.cdn.example";
/// The one domain the fixed webhook may call.
const PARTNER_DOMAIN: &str = ".partners.example";

/// `http://host:port/path` of a URL the lab is willing to connect to: plain
/// HTTP to a loopback address, nothing else.
fn loopback_target(url: &str) -> Option<(SocketAddr, String)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let addr: SocketAddr = match authority.strip_prefix("localhost:") {
        Some(port) => SocketAddr::from(([127, 0, 0, 1], port.parse::<u16>().ok()?)),
        None => authority.parse().ok()?,
    };
    let loopback = match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback(),
    };
    loopback.then_some((addr, path))
}

/// A GET (or POST with `body`) to a loopback URL; follows up to 3 redirects when
/// `follow`. The status of the last answer, or `None` when nothing answered.
async fn fetch(url: &str, body: Option<&str>, follow: bool) -> Option<u16> {
    let mut url = url.to_owned();
    for _ in 0..4 {
        let (addr, path) = loopback_target(&url)?;
        let mut stream =
            tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await.ok()?.ok()?;
        let request = match body {
            Some(b) => format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: lab-fetcher/1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                b.len()
            ),
            None => {
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: lab-fetcher/1\r\nConnection: close\r\n\r\n")
            }
        };
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.take(64 * 1024).read_to_end(&mut answer)).await;
        let text = String::from_utf8_lossy(&answer);
        let status: u16 = text.split(' ').nth(1)?.parse().ok()?;
        let location = text
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.trim().to_owned());
        match location {
            Some(next) if follow && (300..400).contains(&status) => url = next,
            _ => return Some(status),
        }
    }
    None
}

struct Previewer {
    variant: Variant,
    authorization: String,
}

fn start_preview(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let authorization = format!("Bearer {}", crate::tls::random_hex(24)?);
    let paths = json!({"/link-preview": {"get": {
        "operationId": "linkPreview",
        "parameters": [{"name": "url", "in": "query", "required": true, "schema": {"type": "string", "format": "uri"}}],
        "responses": {"200": {"description": "the page's title"}, "400": {"description": "not allowed"}}
    }}});
    let (args, spec_path) = super::bearer_spec_args(
        ctx,
        PREVIEW.name,
        variant,
        &super::bearer_api_description("Link previews", paths),
        &authorization,
    )?;
    let router = Router::new()
        .route("/api/v1/link-preview", get(preview))
        .with_state(Arc::new(Previewer { variant, authorization }));
    let addr = ctx.serve_axum(router)?;
    let expected = super::vulnerable_expects(variant, &["ssrf.canary-fetch", "unsafe-consumption.redirect-followed"]);
    Ok(super::spec_target(PREVIEW.name, variant, addr, &spec_path, args, expected))
}

async fn preview(
    State(previewer): State<Arc<Previewer>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(previewer.authorization.as_str()) {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "bearer token required"}))).into_response();
    }
    let Some(url) = query.get("url") else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "url required"}))).into_response();
    };
    let status = match previewer.variant {
        // The flaw: whatever the caller names is fetched, redirects included.
        Variant::Vulnerable => fetch(url, None, true).await,
        Variant::Fixed => {
            let host = url.strip_prefix("https://").and_then(|r| r.split(['/', ':', '?']).next());
            if host != Some(MEDIA_HOST) {
                return (StatusCode::BAD_REQUEST, Json(json!({"error": "only media.cdn.example links are previewed"})))
                    .into_response();
            }
            // An allowed host is never reached from the lab: it is not loopback.
            fetch(url, None, false).await
        }
    };
    Json(json!({"url": url, "fetched": status.is_some(), "title": "Untitled"})).into_response()
}

#[derive(Clone)]
struct Webhooks {
    variant: Variant,
    authorization: String,
}

fn start_webhook(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let authorization = format!("Bearer {}", crate::tls::random_hex(24)?);
    let paths = json!({"/webhooks": {"post": {
        "operationId": "registerWebhook",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
            "required": ["callback_url", "event"],
            "properties": {"callback_url": {"type": "string"}, "event": {"type": "string", "enum": ["invoice.paid"]}}}}}},
        "responses": {"201": {"description": "registered, a test delivery sent"}, "400": {"description": "not allowed"}}
    }}});
    let (mut args, spec_path) = super::bearer_spec_args(
        ctx,
        WEBHOOK.name,
        variant,
        &super::bearer_api_description("Webhooks", paths),
        &authorization,
    )?;
    super::active_profile_args(ctx, WEBHOOK.name, variant, &mut args)?;
    let hooks = Webhooks { variant, authorization };
    let addr = ctx.serve_actix(move || {
        App::new().app_data(web::Data::new(hooks.clone())).route("/api/v1/webhooks", web::post().to(register))
    })?;
    // The test delivery is a POST that does not follow redirects: SSRF only.
    let expected = super::vulnerable_expects(variant, &["ssrf.canary-fetch"]);
    Ok(super::spec_target(WEBHOOK.name, variant, addr, &spec_path, args, expected))
}

async fn register(hooks: web::Data<Webhooks>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    if request.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some(hooks.authorization.as_str()) {
        return HttpResponse::Unauthorized().json(json!({"error": "bearer token required"}));
    }
    let Some(url) =
        serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["callback_url"].as_str().map(str::to_owned))
    else {
        return HttpResponse::BadRequest().json(json!({"error": "callback_url required"}));
    };
    if hooks.variant == Variant::Fixed {
        let host = url.strip_prefix("https://").and_then(|r| r.split(['/', ':', '?']).next()).unwrap_or_default();
        if !host.ends_with(PARTNER_DOMAIN) {
            return HttpResponse::BadRequest().json(json!({"error": "callbacks must be https on a partner domain"}));
        }
    }
    let delivered = fetch(&url, Some(r#"{"event":"webhook.test"}"#), false).await;
    HttpResponse::Created().json(json!({"callback_url": url, "test_delivery": delivered}))
}

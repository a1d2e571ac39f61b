//! `cors-reflection` (axum): the vulnerable variant reflects any `Origin` into
//! `Access-Control-Allow-Origin` together with `Access-Control-Allow-Credentials:
//! true`; the fixed one only allows `https://app.example.com`.

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ORIGIN, VARY,
};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "cors-reflection", start };

/// The only cross-origin caller the fixed variant trusts.
const ALLOWED_ORIGIN: &str = "https://app.example.com";

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let addr = ctx.serve_axum(router(variant))?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "misconfiguration.cors-reflected-origin"))
}

fn router(variant: Variant) -> Router {
    Router::new()
        .route("/api/", get(index).options(preflight))
        .route("/api/orders", get(orders).options(preflight))
        .layer(middleware::from_fn_with_state(variant, cors))
}

async fn index() -> Json<Value> {
    Json(json!({"service": "orders", "version": "v1"}))
}

async fn orders() -> Json<Value> {
    Json(json!([
        {"id": "ord_1001", "customer": "alice", "item": "keyboard", "quantity": 1, "total": "49.90"},
        {"id": "ord_1002", "customer": "alice", "item": "monitor", "quantity": 2, "total": "379.00"},
    ]))
}

/// Answers CORS preflights; the origin decision is the middleware's, so
/// simple and preflight requests follow the same policy.
async fn preflight() -> impl IntoResponse {
    (
        StatusCode::NO_CONTENT,
        [
            (ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"),
            (ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type"),
            (ACCESS_CONTROL_MAX_AGE, "600"),
        ],
    )
}

/// Adds the CORS response headers according to the variant's policy.
async fn cors(State(variant): State<Variant>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(ORIGIN).cloned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if variant == Variant::Fixed {
        // The answer depends on Origin: caches must not share it across origins.
        headers.append(VARY, HeaderValue::from_static("Origin"));
    }
    if let Some(origin) = origin.filter(|origin| origin_allowed(variant, origin)) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
    }
    response
}

fn origin_allowed(variant: Variant, origin: &HeaderValue) -> bool {
    match variant {
        // The flaw: whatever origin the browser reports is trusted, with cookies.
        Variant::Vulnerable => true,
        Variant::Fixed => origin.as_bytes() == ALLOWED_ORIGIN.as_bytes(),
    }
}

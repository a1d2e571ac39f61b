//! `security-headers` (axum): a JSON API with an HTML 404 page. The
//! vulnerable variant sends neither `X-Content-Type-Options: nosniff` nor any
//! framing protection; the fixed one adds both (to every response, the
//! fallback's included). Served without the lab's baseline headers, so HSTS
//! is set here, identically in both variants.

use axum::http::header::{CONTENT_SECURITY_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "security-headers", start };

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let addr = ctx.serve_axum_bare(router(variant))?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "misconfiguration.security-headers"))
}

fn router(variant: Variant) -> Router {
    let router = Router::new().route("/api/", get(index)).route("/api/invoices", get(invoices)).fallback(not_found);
    let headers: &[(axum::http::HeaderName, &'static str)] = match variant {
        // The flaw: nothing stops sniffing or framing.
        Variant::Vulnerable => &[(STRICT_TRANSPORT_SECURITY, "max-age=31536000")],
        Variant::Fixed => &[
            (STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
            (X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
        ],
    };
    let headers = headers.to_vec();
    router.layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
        let headers = headers.clone();
        async move {
            let mut response = next.run(request).await;
            for (name, value) in headers {
                response.headers_mut().insert(name, HeaderValue::from_static(value));
            }
            response
        }
    }))
}

async fn index() -> Json<Value> {
    Json(json!({"service": "billing", "version": "v1"}))
}

async fn invoices() -> Json<Value> {
    Json(json!([{"id": "inv_77", "amount": "120.00", "status": "paid"}]))
}

/// The HTML error page a browser would render.
async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, Html("<!doctype html><title>Not found</title><h1>Not found</h1><p>No such page.</p>"))
}

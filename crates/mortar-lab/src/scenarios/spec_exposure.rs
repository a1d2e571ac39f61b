//! `spec-exposure` (axum): an internal orders API. The vulnerable variant
//! serves its OpenAPI document at `/api/openapi.json` and a Swagger UI page at
//! `/api/docs` to anyone; the fixed one does not serve them at all.

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{Allowed, Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "spec-exposure", start };

const SWAGGER_UI: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Orders API - Swagger UI</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui" });</script>
</body></html>"##;

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let mut router = Router::new().route("/api/", get(index)).route("/api/orders", get(orders));
    if variant == Variant::Vulnerable {
        // The flaw: the description and its console ship with the service.
        router = router.route("/api/openapi.json", get(openapi)).route("/api/docs", get(docs));
    }
    let addr = ctx.serve_axum(router)?;
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::Check("inventory.spec-exposed".to_owned())],
        Variant::Fixed => Vec::new(),
    };
    Ok(LabTarget {
        scenario: SCENARIO.name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: None,
        scan_args: ctx.ca_args(),
        expected,
        // The scan discovers the published description and scans with it; its
        // paths carry no version, which the informational check says.
        allowed: match variant {
            Variant::Vulnerable => vec![Allowed {
                check: "inventory.unversioned-api".to_owned(),
                reason: "the discovered description's paths carry no version".to_owned(),
            }],
            Variant::Fixed => Vec::new(),
        },
    })
}

async fn index() -> Json<Value> {
    Json(json!({"service": "orders", "version": "v1"}))
}

async fn orders() -> Json<Value> {
    Json(json!([{"id": "ord_1001", "item": "keyboard", "quantity": 1}]))
}

async fn openapi() -> Json<Value> {
    Json(json!({
        "openapi": "3.0.3",
        "info": {"title": "Orders API (internal)", "version": "1.4.0"},
        "paths": {
            // Exactly what the service serves: the exposure is the finding, not a stale spec.
            "/api/": {"get": {"responses": {"200": {"description": "service information"}}}},
            "/api/orders": {"get": {"responses": {"200": {"description": "orders"}}}},
        },
    }))
}

async fn docs() -> impl IntoResponse {
    Html(SWAGGER_UI)
}

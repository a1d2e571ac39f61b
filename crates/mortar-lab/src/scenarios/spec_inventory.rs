//! `spec-inventory` (axum): an orders API scanned with its OpenAPI description.
//! The vulnerable variant drifted from it: GET /orders is documented as
//! secured but answers anyone, a deprecated report is still served, a
//! documented stats endpoint was never deployed, and the old v1 orders route
//! is still live. The fixed variant matches its description.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "spec-inventory", start };

/// The OpenAPI 3.0 description both variants are scanned with.
fn description() -> Value {
    let secured = json!([{"bearer": []}]);
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Orders", "version": "2.0.0"},
        "servers": [{"url": "/api/v2"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Order": {
                    "type": "object",
                    "required": ["id", "item", "quantity"],
                    "properties": {
                        "id": {"type": "string", "example": "ord_1001", "readOnly": true},
                        "item": {"type": "string", "example": "keyboard"},
                        "quantity": {"type": "integer", "minimum": 1, "maximum": 10}
                    }
                }
            }
        },
        "security": secured,
        "paths": {
            "/orders": {
                "get": {"operationId": "listOrders", "responses": {"200": {"description": "orders"}}},
                "post": {
                    "operationId": "createOrder",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}}},
                    "responses": {"201": {"description": "created"}}
                }
            },
            "/orders/{orderId}": {
                "get": {
                    "operationId": "getOrder",
                    "parameters": [{"name": "orderId", "in": "path", "required": true, "schema": {"type": "string", "example": "ord_1001"}}],
                    "responses": {"200": {"description": "an order"}, "404": {"description": "no such order"}}
                }
            },
            "/reports/legacy": {
                "get": {"operationId": "legacyReport", "deprecated": true, "responses": {"200": {"description": "report"}}}
            },
            "/stats": {
                "get": {"operationId": "stats", "responses": {"200": {"description": "statistics"}}}
            }
        }
    })
}

#[derive(Clone)]
struct Auth(Arc<str>);

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let authorization = format!("Bearer {}", crate::tls::random_hex(16)?);
    let identity_path = ctx.dir().join(format!("{}-{variant}.identity", SCENARIO.name));
    crate::write_private_file(&identity_path, authorization.as_bytes())?;
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, serde_json::to_string_pretty(&description()).unwrap_or_default().as_bytes())?;
    let addr = ctx.serve_axum(router(variant, Auth(authorization.into())))?;

    let mut scan_args = ctx.ca_args();
    scan_args.extend([
        "--identity".to_owned(),
        format!("alice=Authorization:@{}", identity_path.display()),
        "--spec".to_owned(),
        spec_path.display().to_string(),
    ]);
    let expected = match variant {
        Variant::Vulnerable => vec![
            Expected::At {
                check: "authentication.security-not-enforced".to_owned(),
                method: "GET".to_owned(),
                path: "/api/v2/orders".to_owned(),
            },
            Expected::At {
                check: "inventory.deprecated-operation-live".to_owned(),
                method: "GET".to_owned(),
                path: "/api/v2/reports/legacy".to_owned(),
            },
            Expected::At {
                check: "inventory.documented-operation-missing".to_owned(),
                method: "GET".to_owned(),
                path: "/api/v2/stats".to_owned(),
            },
            Expected::At {
                check: "inventory.undocumented-endpoints".to_owned(),
                method: "GET".to_owned(),
                path: "/api/v1/orders".to_owned(),
            },
        ],
        Variant::Fixed => Vec::new(),
    };
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, scan_args, expected))
}

fn router(variant: Variant, auth: Auth) -> Router {
    let vulnerable = variant == Variant::Vulnerable;
    // Routes that check credentials themselves (via the layer).
    let legacy = if vulnerable { get(legacy_report) } else { get(gone) };
    let mut protected =
        Router::new().route("/api/v2/orders/{order_id}", get(order)).route("/api/v2/reports/legacy", legacy);
    let mut open = Router::new();
    if vulnerable {
        // The drift: listing lost its guard when it was moved; v1 is still mounted.
        open = open.route("/api/v2/orders", get(orders).post(create_order)).route("/api/v1/orders", get(orders));
    } else {
        protected =
            protected.route("/api/v2/orders", get(orders).post(create_order)).route("/api/v2/stats", get(stats));
    }
    let protected = protected.route_layer(middleware::from_fn_with_state(auth, require_bearer));
    protected.merge(open)
}

async fn require_bearer(
    State(auth): State<Auth>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    let given = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if given.len() == auth.0.len() && given.bytes().zip(auth.0.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0 {
        next.run(request).await
    } else {
        (StatusCode::UNAUTHORIZED, Json(json!({"error": "unauthorized"}))).into_response()
    }
}

async fn orders() -> Json<Value> {
    Json(json!([
        {"id": "ord_1001", "item": "keyboard", "quantity": 1},
        {"id": "ord_1002", "item": "monitor", "quantity": 2}
    ]))
}

async fn order(Path(order_id): Path<String>) -> Response {
    match order_id.as_str() {
        "ord_1001" => Json(json!({"id": "ord_1001", "item": "keyboard", "quantity": 1})).into_response(),
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

/// Never reached by a standard scan: it only probes this write with OPTIONS.
async fn create_order() -> (StatusCode, Json<Value>) {
    (StatusCode::CREATED, Json(json!({"id": "ord_1003"})))
}

async fn legacy_report() -> Json<Value> {
    Json(json!({"report": "legacy", "rows": 2}))
}

async fn gone() -> (StatusCode, Json<Value>) {
    (StatusCode::GONE, Json(json!({"error": "retired: use /api/v2/stats"})))
}

async fn stats() -> Json<Value> {
    Json(json!({"orders": 2}))
}

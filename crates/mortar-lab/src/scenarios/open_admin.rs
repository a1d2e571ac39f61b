//! `open-admin` (axum, active profile): a warehouse API under `/wh/v4`
//! whose description declares bearer security operation by operation and
//! forgot it on `POST /wh/v4/admin/stock-adjustments` (the stock
//! correction back office). `GET /wh/v4/stock` requires a bearer token in
//! both variants. The vulnerable variant's adjustment handler has no guard
//! at all, so anyone can rewrite stock levels; the fixed variant's checks
//! the administrator's token whatever the description says, and answers 401
//! to everyone else.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "open-admin", start };

struct Warehouse {
    variant: Variant,
    /// The clerk's token (the scan's identity) and the administrator's (never given out).
    clerk: String,
    admin: String,
    /// Stock per SKU; bounded by the fixed catalogue.
    stock: Mutex<Vec<(&'static str, i64)>>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let bearer = json!([{"bearer": []}]);
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Warehouse", "version": "4.2.0"},
        "servers": [{"url": "/wh/v4"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/stock": {"get": {"operationId": "listStock", "security": bearer,
                "responses": {"200": {"description": "stock levels"}, "401": {"description": "no token"}}}},
            "/admin/stock-adjustments": {"post": {"operationId": "adjustStock",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["sku", "delta"], "properties": {
                        "sku": {"type": "string", "example": "PALLET-40"},
                        "delta": {"type": "integer", "example": -2}}}}}},
                "responses": {"201": {"description": "adjusted"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let mut args = ctx.ca_args();
    let tokens = super::customer_tokens(ctx, SCENARIO.name, variant, &["clerk"], &mut args)?;
    let clerk = tokens.into_iter().next().map(|(authorization, _)| authorization).unwrap_or_default();
    let admin = format!("Bearer {}", crate::tls::random_hex(16)?);
    let warehouse =
        Arc::new(Warehouse { variant, clerk, admin, stock: Mutex::new(vec![("PALLET-40", 120), ("CRATE-12", 48)]) });
    let router = Router::new()
        .route("/wh/v4/stock", get(stock))
        .route("/wh/v4/admin/stock-adjustments", post(adjust))
        .with_state(warehouse);
    let addr = ctx.serve_axum(router)?;
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected =
        super::vulnerable_expects_at(variant, "bfla.privileged-operation", "POST", "/wh/v4/admin/stock-adjustments");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn bearer_is(headers: &HeaderMap, expected: &str) -> bool {
    let given = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"error": "a valid bearer token is required"}))).into_response()
}

async fn stock(State(warehouse): State<Arc<Warehouse>>, headers: HeaderMap) -> Response {
    if !bearer_is(&headers, &warehouse.clerk) && !bearer_is(&headers, &warehouse.admin) {
        return unauthorized();
    }
    let stock = warehouse.stock.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let items: Vec<Value> = stock.iter().map(|(sku, n)| json!({"sku": sku, "onHand": n})).collect();
    Json(json!({"items": items})).into_response()
}

async fn adjust(State(warehouse): State<Arc<Warehouse>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    // The fix: the handler checks the role itself, whatever the description declares.
    if warehouse.variant == Variant::Fixed && !bearer_is(&headers, &warehouse.admin) {
        return unauthorized();
    }
    let parsed: Value = serde_json::from_slice(&body).unwrap_or_default();
    let (Some(sku), Some(delta)) = (parsed["sku"].as_str(), parsed["delta"].as_i64()) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "sku and an integer delta are required"})))
            .into_response();
    };
    let mut stock = warehouse.stock.lock().unwrap_or_else(|e| e.into_inner());
    match stock.iter_mut().find(|(s, _)| *s == sku) {
        Some((s, n)) => {
            *n = n.saturating_add(delta.clamp(-1000, 1000));
            (StatusCode::CREATED, Json(json!({"sku": s, "onHand": n}))).into_response()
        }
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "unknown sku"}))).into_response(),
    }
}

//! `unversioned-api` (axum): a small catalogue API scanned with its OpenAPI
//! description. The vulnerable variant has no version anywhere (paths,
//! parameters, answers); the fixed variant is the same API under `/v1`.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "unversioned-api", start };

/// Where the API lives in each variant.
fn prefix(variant: Variant) -> &'static str {
    match variant {
        Variant::Vulnerable => "/api",
        Variant::Fixed => "/api/v1",
    }
}

/// The OpenAPI 3.0 description of one variant.
fn description(variant: Variant) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Catalogue", "version": "1.0.0"},
        "servers": [{"url": prefix(variant)}],
        "paths": {
            "/items": {
                "get": {"operationId": "listItems", "responses": {"200": {"description": "items"}}}
            },
            "/items/{itemId}": {
                "get": {
                    "operationId": "getItem",
                    "parameters": [{"name": "itemId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "an item"}, "404": {"description": "no such item"}}
                }
            }
        }
    })
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, description(variant).to_string().as_bytes())?;
    let base = prefix(variant);
    let router = Router::new()
        .route(&format!("{base}/items"), get(items))
        .route(&format!("{base}/items/{{item_id}}"), get(item));
    let addr = ctx.serve_axum(router)?;
    let mut scan_args = ctx.ca_args();
    scan_args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::Check("inventory.unversioned-api".to_owned())],
        Variant::Fixed => Vec::new(),
    };
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, scan_args, expected))
}

async fn items() -> Json<Value> {
    Json(json!([{"id": 7, "name": "lamp"}, {"id": 8, "name": "desk"}]))
}

async fn item(Path(item_id): Path<u64>) -> Response {
    match item_id {
        7 => Json(json!({"id": 7, "name": "lamp"})).into_response(),
        8 => Json(json!({"id": 8, "name": "desk"})).into_response(),
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": "not found"}))).into_response(),
    }
}

//! `unbounded-list` (actix-web): an audit-event feed scanned with its OpenAPI
//! description. Vulnerable: `GET /events` returns every event there is (600)
//! in one answer and documents no paging. Fixed: `limit` (default 50, at
//! most 100) and `cursor` are documented and applied.

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "unbounded-list", start };

/// Events stored.
const EVENTS: u64 = 600;
const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 100;

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let mut get = json!({"operationId": "listEvents", "responses": {"200": {"description": "events"}}});
    if variant == Variant::Fixed {
        get["parameters"] = json!([
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
            {"name": "cursor", "in": "query", "schema": {"type": "integer"}}
        ]);
    }
    let authorization = format!("Bearer {}", crate::tls::random_hex(16)?);
    let spec = super::bearer_api_description("Audit events", json!({"/events": {"get": get}}));
    let (args, spec_path) = super::bearer_spec_args(ctx, SCENARIO.name, variant, &spec, &authorization)?;
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new((variant, authorization.clone())))
            .route("/api/v1/events", web::get().to(events))
    })?;
    let expected = super::vulnerable_expects(variant, &["rate-limiting.unbounded-response"]);
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn event(id: u64) -> Value {
    json!({"id": id, "kind": "login", "actor": format!("user-{}", id % 17)})
}

async fn events(
    state: web::Data<(Variant, String)>,
    request: HttpRequest,
    query: web::Query<std::collections::BTreeMap<String, String>>,
) -> HttpResponse {
    let (variant, authorization) = state.get_ref();
    if request.headers().get("authorization").and_then(|v| v.to_str().ok()) != Some(authorization.as_str()) {
        return HttpResponse::Unauthorized().json(json!({"error": "bearer token required"}));
    }
    match variant {
        // The flaw: the whole table, whatever its size.
        Variant::Vulnerable => HttpResponse::Ok().json((1..=EVENTS).map(event).collect::<Vec<_>>()),
        Variant::Fixed => {
            let limit = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
            let after = query.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0u64);
            let page: Vec<Value> = (after + 1..=EVENTS).take(limit as usize).map(event).collect();
            let next = page.last().and_then(|e| e["id"].as_u64()).filter(|id| *id < EVENTS);
            HttpResponse::Ok().json(json!({"items": page, "next_cursor": next}))
        }
    }
}

//! `bola-invoices` (axum): an invoicing API scanned with its OpenAPI
//! description and two customers' tokens. Invoice ids are sequential in both
//! variants. Vulnerable: `GET /invoices/{invoiceId}` looks the invoice up by
//! id alone, so one customer reads another's. Fixed: the lookup is by id and
//! owner, and another customer's invoice is answered 404 like a missing one.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "bola-invoices", start };

/// The OpenAPI 3.0 description both variants are scanned with.
fn description() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Invoices", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/invoices": {
                "get": {"operationId": "listInvoices", "responses": {"200": {"description": "the caller's invoices"}}}
            },
            "/invoices/{invoiceId}": {
                "get": {
                    "operationId": "getInvoice",
                    "parameters": [{"name": "invoiceId", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "an invoice"}, "404": {"description": "no such invoice"}}
                }
            }
        }
    })
}

/// One invoice and the customer it belongs to.
struct Invoice {
    id: u64,
    owner: &'static str,
    reference: &'static str,
    project: &'static str,
    amount_cents: u64,
}

const INVOICES: [Invoice; 4] = [
    Invoice { id: 1, owner: "alice", reference: "INV-7Q2-AURORA", project: "Aurora rollout", amount_cents: 129_900 },
    Invoice { id: 2, owner: "alice", reference: "INV-7Q3-AURORA", project: "Aurora support", amount_cents: 45_000 },
    Invoice { id: 3, owner: "bob", reference: "INV-9K1-HARBOR", project: "Harbor audit", amount_cents: 310_000 },
    Invoice { id: 4, owner: "bob", reference: "INV-9K4-HARBOR", project: "Harbor retainer", amount_cents: 88_000 },
];

fn invoice_json(invoice: &Invoice) -> Value {
    json!({
        "id": invoice.id,
        "reference": invoice.reference,
        "project": invoice.project,
        "amount_cents": invoice.amount_cents,
        "currency": "EUR",
        "status": "open",
    })
}

struct Service {
    variant: Variant,
    /// (Authorization header value, customer).
    tokens: Vec<(String, &'static str)>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let mut scan_args = ctx.ca_args();
    let tokens = super::customer_tokens(ctx, SCENARIO.name, variant, &["alice", "bob"], &mut scan_args)?;
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    let spec = serde_json::to_string_pretty(&description()).unwrap_or_default();
    crate::write_private_file(&spec_path, spec.as_bytes())?;
    scan_args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    let service = Arc::new(Service { variant, tokens });
    let router = Router::new()
        .route("/api/v1/invoices", get(list))
        .route("/api/v1/invoices/{invoice_id}", get(one))
        .with_state(service);
    let addr = ctx.serve_axum(router)?;
    let expected =
        super::vulnerable_expects_at(variant, "bola.cross-identity-read", "GET", "/api/v1/invoices/{invoiceId}");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, scan_args, expected))
}

/// The customer the bearer token belongs to.
fn customer(service: &Service, headers: &HeaderMap) -> Option<&'static str> {
    let given = headers.get("authorization")?.to_str().ok()?;
    service.tokens.iter().find(|(token, _)| token == given).map(|(_, who)| *who)
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"error": "bearer token required"}))).into_response()
}

async fn list(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let Some(who) = customer(&service, &headers) else { return unauthorized() };
    let mine: Vec<Value> = INVOICES.iter().filter(|i| i.owner == who).map(invoice_json).collect();
    Json(json!({"invoices": mine})).into_response()
}

async fn one(State(service): State<Arc<Service>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some(who) = customer(&service, &headers) else { return unauthorized() };
    let found = INVOICES.iter().find(|i| {
        i.id.to_string() == id
            // The fix: the owner is part of the lookup.
            && (service.variant == Variant::Vulnerable || i.owner == who)
    });
    match found {
        Some(invoice) => Json(invoice_json(invoice)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"error": "no such invoice"}))).into_response(),
    }
}

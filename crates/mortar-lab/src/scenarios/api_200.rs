//! `api-200` (axum): a 200-operation API (40 resources, each with list,
//! create, read, update and delete) scanned with its OpenAPI description and
//! two customers' tokens. Every customer owns its own objects (ids 1-3 are
//! alice's, 4-6 bob's). It is the benchmark target against Schemathesis
//! (BENCHMARKS.md): four flaws are planted among the 200 operations, and the
//! fixed variant has none of them.
//!
//! Planted in the vulnerable variant:
//! 1. `GET /invoices/{id}` does not check the owner (BOLA).
//! 2. `GET /reports` answers without credentials (authentication not enforced).
//! 3. `GET /users/{id}` returns the stored `password_hash` (not in the schema).
//! 4. `GET /exports/{id}` answers a non-numeric id with a 500 and a panic
//!    backtrace (a debug error page).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "api-200", start };

/// The resources; five operations each.
const RESOURCES: [&str; 40] = [
    "accounts",
    "addresses",
    "alerts",
    "assets",
    "audits",
    "batches",
    "budgets",
    "campaigns",
    "carts",
    "contacts",
    "contracts",
    "coupons",
    "devices",
    "documents",
    "exports",
    "forms",
    "groups",
    "imports",
    "invoices",
    "items",
    "jobs",
    "labels",
    "leads",
    "licenses",
    "messages",
    "notes",
    "orders",
    "payments",
    "plans",
    "projects",
    "quotes",
    "refunds",
    "reports",
    "returns",
    "shipments",
    "subscriptions",
    "tasks",
    "teams",
    "tickets",
    "users",
];

fn object_schema() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "reference": {"type": "string"}
    }})
}

fn description() -> Value {
    let mut paths = Map::new();
    let id_param = json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}]);
    let body = json!({"required": true, "content": {"application/json": {"schema": {"type": "object",
        "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 40}}}}}});
    let ok = |schema: Value| json!({"description": "ok", "content": {"application/json": {"schema": schema}}});
    for resource in RESOURCES {
        let title = format!("{}{}", resource[..1].to_uppercase(), &resource[1..]);
        paths.insert(
            format!("/{resource}"),
            json!({
                "get": {"operationId": format!("list{title}"), "responses": {
                    "200": ok(json!({"type": "array", "items": object_schema()})), "401": {"description": "no token"}}},
                "post": {"operationId": format!("create{title}"), "requestBody": body, "responses": {
                    "201": ok(object_schema()), "401": {"description": "no token"}}}
            }),
        );
        paths.insert(
            format!("/{resource}/{{id}}"),
            json!({
                "get": {"operationId": format!("get{title}"), "parameters": id_param, "responses": {
                    "200": ok(object_schema()), "401": {"description": "no token"}, "404": {"description": "not found"}}},
                "patch": {"operationId": format!("update{title}"), "parameters": id_param, "requestBody": body,
                    "responses": {"200": ok(object_schema()), "401": {"description": "no token"}, "404": {"description": "not found"}}},
                "delete": {"operationId": format!("delete{title}"), "parameters": id_param, "responses": {
                    "204": {"description": "deleted"}, "401": {"description": "no token"}, "404": {"description": "not found"}}}
            }),
        );
    }
    super::bearer_api_description("Back office", Value::Object(paths))
}

struct Office {
    variant: Variant,
    /// (Authorization header value, customer).
    tokens: Vec<(String, &'static str)>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    // A local API: no need to pace the scan (the default is 50 requests per second).
    let mut args = ctx.ca_args();
    args.extend(["--rate".to_owned(), "0".to_owned()]);
    let tokens = super::customer_tokens(ctx, SCENARIO.name, variant, &["alice", "bob"], &mut args)?;
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, serde_json::to_string_pretty(&description()).unwrap_or_default().as_bytes())?;
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    let router = Router::new()
        .route("/api/v1/{resource}", get(list).post(create))
        .route("/api/v1/{resource}/{id}", get(read).patch(update).delete(remove))
        .with_state(Arc::new(Office { variant, tokens }));
    let addr = ctx.serve_axum(router)?;
    let at = |check: &str, path: &str| Expected::At {
        check: check.to_owned(),
        method: "GET".to_owned(),
        path: path.to_owned(),
    };
    let expected = match variant {
        Variant::Vulnerable => vec![
            at("bola.cross-identity-read", "/api/v1/invoices/{id}"),
            at("authentication.security-not-enforced", "/api/v1/reports"),
            at("property-authorization.excessive-exposure", "/api/v1/users/{id}"),
            at("data-exposure.stack-trace", "/api/v1/exports/{id}"),
        ],
        Variant::Fixed => Vec::new(),
    };
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn customer(office: &Office, headers: &HeaderMap) -> Option<&'static str> {
    let given = headers.get("authorization")?.to_str().ok()?;
    office.tokens.iter().find(|(t, _)| t == given).map(|(_, c)| *c)
}

fn known(resource: &str) -> bool {
    RESOURCES.contains(&resource)
}

/// Object `id` of `resource`: ids 1-3 belong to alice, 4-6 to bob.
fn object(resource: &str, id: u64) -> Option<(Value, &'static str)> {
    let owner = match id {
        1..=3 => "alice",
        4..=6 => "bob",
        _ => return None,
    };
    let value = json!({"id": id, "name": format!("{resource} {id}"), "reference": format!("{}-{id:04}-{owner}", resource.to_uppercase())});
    Some((value, owner))
}

fn status(code: StatusCode, message: &str) -> Response {
    (code, Json(json!({"error": message}))).into_response()
}

async fn list(State(office): State<Arc<Office>>, Path(resource): Path<String>, headers: HeaderMap) -> Response {
    if !known(&resource) {
        return status(StatusCode::NOT_FOUND, "no such resource");
    }
    let who = customer(&office, &headers);
    // Planted flaw 2: the reports list forgets to require a token.
    let public = office.variant == Variant::Vulnerable && resource == "reports";
    let Some(who) = who.or(public.then_some("alice")) else {
        return status(StatusCode::UNAUTHORIZED, "token required");
    };
    let mine: Vec<Value> =
        (1..=6).filter_map(|id| object(&resource, id)).filter(|(_, o)| *o == who).map(|(v, _)| v).collect();
    Json(Value::Array(mine)).into_response()
}

async fn read(
    State(office): State<Arc<Office>>,
    Path((resource, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !known(&resource) {
        return status(StatusCode::NOT_FOUND, "no such resource");
    }
    let Some(who) = customer(&office, &headers) else { return status(StatusCode::UNAUTHORIZED, "token required") };
    let vulnerable = office.variant == Variant::Vulnerable;
    let Ok(id) = id.parse::<u64>() else {
        // Planted flaw 4: the exports handler unwraps the parse and the panic page goes out.
        if vulnerable && resource == "exports" {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "thread 'tokio-runtime-worker' panicked at src/exports.rs:88:41:\ncalled `Result::unwrap()` on an `Err` \
                 value: ParseIntError { kind: InvalidDigit }\nstack backtrace:\n   0: rust_begin_unwind\n   1: \
                 backoffice::exports::read\n",
            )
                .into_response();
        }
        return status(StatusCode::BAD_REQUEST, "id must be a number");
    };
    let Some((mut value, owner)) = object(&resource, id) else { return status(StatusCode::NOT_FOUND, "not found") };
    // Planted flaw 1: invoices are looked up by id alone.
    if owner != who && !(vulnerable && resource == "invoices") {
        return status(StatusCode::NOT_FOUND, "not found");
    }
    // Planted flaw 3: the user row goes out whole.
    if vulnerable && resource == "users" {
        value["password_hash"] =
            json!(format!("$2b$12${}R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", owner));
    }
    Json(value).into_response()
}

async fn create(State(office): State<Arc<Office>>, Path(resource): Path<String>, headers: HeaderMap) -> Response {
    if !known(&resource) {
        return status(StatusCode::NOT_FOUND, "no such resource");
    }
    if customer(&office, &headers).is_none() {
        return status(StatusCode::UNAUTHORIZED, "token required");
    }
    let (value, _) = object(&resource, 3).unwrap_or((json!({}), "alice"));
    (StatusCode::CREATED, Json(value)).into_response()
}

async fn update(
    State(office): State<Arc<Office>>,
    Path((resource, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    read(State(office), Path((resource, id)), headers).await
}

async fn remove(
    State(office): State<Arc<Office>>,
    Path((resource, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let answer = read(State(office), Path((resource, id)), headers).await;
    if answer.status() == StatusCode::OK { StatusCode::NO_CONTENT.into_response() } else { answer }
}

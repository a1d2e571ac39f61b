//! Property-level authorization, scanned with an OpenAPI description and one
//! customer's token.
//!
//! - `user-exposure` (axum): a team directory. The vulnerable handlers
//!   serialise the stored user row, so every answer also carries its
//!   `password_hash` and `is_admin`, which the documented schema does not
//!   list; the fixed ones return a view type with the documented fields.
//! - `mass-assignment` (actix-web, active profile): account settings. The
//!   vulnerable `PATCH` deserialises into the stored account type, so a
//!   caller can set its own `role` and `credits`; the fixed one takes a type
//!   with only the editable fields and ignores the rest.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, web};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const EXPOSURE: Scenario = Scenario { name: "user-exposure", start: start_exposure };
pub(super) const MASS_ASSIGNMENT: Scenario = Scenario { name: "mass-assignment", start: start_mass_assignment };

/// The documented member: what both variants' descriptions promise.
fn member_schema() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"}, "display_name": {"type": "string"}, "team": {"type": "string"}
    }})
}

fn exposure_description() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Team directory", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/members/me": {"get": {"operationId": "me", "responses": {
                "200": {"description": "the caller", "content": {"application/json": {"schema": member_schema()}}}}}},
            "/members": {"get": {"operationId": "members", "responses": {
                "200": {"description": "the team", "content": {"application/json": {"schema": {"type": "array", "items": member_schema()}}}}}}}
        }
    })
}

/// A stored user row, as the database holds it.
#[derive(Clone, Serialize)]
struct UserRow {
    id: &'static str,
    display_name: &'static str,
    team: &'static str,
    password_hash: &'static str,
    is_admin: bool,
}

/// The documented view of a member.
#[derive(Serialize)]
struct MemberView {
    id: &'static str,
    display_name: &'static str,
    team: &'static str,
}

const USERS: [UserRow; 2] = [
    UserRow {
        id: "mbr-1184",
        display_name: "Alice Marchetti",
        team: "platform",
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Yh1n8Wf0x3rXhB7aF0xXbq1v5vZ3b1oQn3yq0K4mJ2M",
        is_admin: false,
    },
    UserRow {
        id: "mbr-1185",
        display_name: "Bruno Ferri",
        team: "platform",
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$cGVwcGVycGVwcGVy$0aM3xkq9Yt2VvWzj8c5Q1r7Lh6uD4nB2sE9fG1hJ0kL",
        is_admin: true,
    },
];

struct Directory {
    variant: Variant,
    authorization: String,
}

fn start_exposure(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let authorization = format!("Bearer {}", crate::tls::random_hex(24)?);
    let (args, spec_path) =
        super::bearer_spec_args(ctx, EXPOSURE.name, variant, &exposure_description(), &authorization)?;
    let router = Router::new()
        .route("/api/v1/members/me", get(me))
        .route("/api/v1/members", get(members))
        .with_state(Arc::new(Directory { variant, authorization }));
    let addr = ctx.serve_axum(router)?;
    let expected = super::vulnerable_expects(variant, &["property-authorization.excessive-exposure"]);
    Ok(super::spec_target(EXPOSURE.name, variant, addr, &spec_path, args, expected))
}

/// A member as each variant serialises it.
fn member(directory: &Directory, row: &UserRow) -> Value {
    match directory.variant {
        // The flaw: the row itself goes out.
        Variant::Vulnerable => serde_json::to_value(row).unwrap_or_default(),
        Variant::Fixed => {
            serde_json::to_value(MemberView { id: row.id, display_name: row.display_name, team: row.team })
                .unwrap_or_default()
        }
    }
}

fn signed_in(directory: &Directory, headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(directory.authorization.as_str())
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"error": "bearer token required"}))).into_response()
}

async fn me(State(directory): State<Arc<Directory>>, headers: HeaderMap) -> Response {
    if !signed_in(&directory, &headers) {
        return unauthorized();
    }
    Json(member(&directory, &USERS[0])).into_response()
}

async fn members(State(directory): State<Arc<Directory>>, headers: HeaderMap) -> Response {
    if !signed_in(&directory, &headers) {
        return unauthorized();
    }
    Json(Value::Array(USERS.iter().map(|u| member(&directory, u)).collect())).into_response()
}

fn account_description() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Account settings", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/account": {
                "get": {"operationId": "getAccount", "responses": {"200": {"description": "the caller's account",
                    "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "id": {"type": "string"}, "display_name": {"type": "string"}, "timezone": {"type": "string"},
                        "role": {"type": "string", "readOnly": true}, "credits": {"type": "integer", "readOnly": true}
                    }}}}}}},
                "patch": {"operationId": "updateAccount",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                        "display_name": {"type": "string"}, "timezone": {"type": "string"}
                    }}}}},
                    "responses": {"200": {"description": "updated"}}}
            }
        }
    })
}

/// The stored account.
#[derive(Clone, Serialize, Deserialize)]
struct Account {
    id: String,
    display_name: String,
    timezone: String,
    role: String,
    credits: i64,
}

/// The vulnerable PATCH body: the stored type, every field optional.
#[derive(Deserialize)]
struct AccountPatch {
    display_name: Option<String>,
    timezone: Option<String>,
    role: Option<String>,
    credits: Option<i64>,
}

/// The fixed PATCH body: only what the caller may edit.
#[derive(Deserialize)]
struct UpdateAccount {
    display_name: Option<String>,
    timezone: Option<String>,
}

#[derive(Clone)]
struct Settings {
    variant: Variant,
    authorization: String,
    account: Arc<Mutex<Account>>,
}

fn start_mass_assignment(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let authorization = format!("Bearer {}", crate::tls::random_hex(24)?);
    let (mut args, spec_path) =
        super::bearer_spec_args(ctx, MASS_ASSIGNMENT.name, variant, &account_description(), &authorization)?;
    super::active_profile_args(ctx, MASS_ASSIGNMENT.name, variant, &mut args)?;
    let account = Account {
        id: "acct-3312".into(),
        display_name: "Alice Marchetti".into(),
        timezone: "Europe/Rome".into(),
        role: "member".into(),
        credits: 20,
    };
    let settings = Settings { variant, authorization, account: Arc::new(Mutex::new(account)) };
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(settings.clone()))
            .route("/api/v1/account", web::get().to(get_account))
            .route("/api/v1/account", web::patch().to(patch_account))
    })?;
    let expected = super::vulnerable_expects(variant, &["property-authorization.mass-assignment"]);
    Ok(super::spec_target(MASS_ASSIGNMENT.name, variant, addr, &spec_path, args, expected))
}

fn authorized(settings: &Settings, request: &HttpRequest) -> bool {
    request.headers().get("authorization").and_then(|v| v.to_str().ok()) == Some(settings.authorization.as_str())
}

async fn get_account(settings: web::Data<Settings>, request: HttpRequest) -> HttpResponse {
    if !authorized(&settings, &request) {
        return HttpResponse::Unauthorized().json(json!({"error": "bearer token required"}));
    }
    let account = settings.account.lock().map(|a| a.clone());
    match account {
        Ok(account) => HttpResponse::Ok().json(account),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn patch_account(settings: web::Data<Settings>, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !authorized(&settings, &request) {
        return HttpResponse::Unauthorized().json(json!({"error": "bearer token required"}));
    }
    let Ok(mut account) = settings.account.lock() else { return HttpResponse::InternalServerError().finish() };
    match settings.variant {
        Variant::Vulnerable => {
            // The flaw: the body binds to the stored type, privileged fields included.
            let Ok(patch) = serde_json::from_slice::<AccountPatch>(&body) else {
                return HttpResponse::BadRequest().json(json!({"error": "invalid body"}));
            };
            if let Some(v) = patch.display_name {
                account.display_name = v;
            }
            if let Some(v) = patch.timezone {
                account.timezone = v;
            }
            if let Some(v) = patch.role {
                account.role = v;
            }
            if let Some(v) = patch.credits {
                account.credits = v;
            }
        }
        Variant::Fixed => {
            let Ok(update) = serde_json::from_slice::<UpdateAccount>(&body) else {
                return HttpResponse::BadRequest().json(json!({"error": "invalid body"}));
            };
            if let Some(v) = update.display_name {
                account.display_name = v;
            }
            if let Some(v) = update.timezone {
                account.timezone = v;
            }
        }
    }
    HttpResponse::Ok().json(account.clone())
}

//! `signup-mass-assignment` (axum, active profile, no identity): a forum's
//! sign-up under `/forum/v2`. `POST /members` creates a member from a JSON
//! body `{handle, email, password}`; `GET /members` (the member directory)
//! shows each member's `handle`, `joined` and `is_moderator`. The vulnerable
//! variant deserialises the sign-up body into the stored member type, whose
//! `is_moderator` defaults to false but is taken when the body carries it:
//! anyone can sign up as a moderator. The fixed variant takes a type with
//! only the three documented fields (serde ignores the rest) and sets
//! `is_moderator` in server code. There is no GET of one member: the
//! directory is the only read-back.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "signup-mass-assignment", start };

/// Members kept at most (a scan signs up a few dozen).
const MAX_MEMBERS: usize = 2000;

/// A member as stored.
#[derive(Clone, Deserialize)]
struct Member {
    handle: String,
    /// Kept only to show the sign-up needs one; never answered.
    #[serde(rename = "email")]
    _email: String,
    #[serde(default)]
    is_moderator: bool,
}

/// What the fixed sign-up accepts: the documented fields only.
#[derive(Deserialize)]
struct SignUp {
    handle: String,
    email: String,
    password: String,
}

struct Forum {
    variant: Variant,
    members: Mutex<Vec<(Member, u32)>>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let seeded = vec![
        (Member { handle: "ines".into(), _email: "ines@forum.test".into(), is_moderator: true }, 2019),
        (Member { handle: "tomasz".into(), _email: "tomasz@forum.test".into(), is_moderator: false }, 2023),
    ];
    let forum = Arc::new(Forum { variant, members: Mutex::new(seeded) });
    let member_schema = json!({"type": "object", "properties": {
        "handle": {"type": "string"}, "joined": {"type": "integer"}, "is_moderator": {"type": "boolean"}}});
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Forum members", "version": "2.3.1"},
        "servers": [{"url": "/forum/v2"}],
        "paths": {
            "/members": {
                "get": {"operationId": "listMembers",
                    "responses": {"200": {"description": "the member directory", "content": {"application/json": {
                        "schema": {"type": "object", "properties": {"members": {"type": "array", "items": member_schema}}}}}}}},
                "post": {"operationId": "signUp",
                    "requestBody": {"required": true, "content": {"application/json": {
                        "schema": {"type": "object", "required": ["handle", "email", "password"], "properties": {
                            "handle": {"type": "string"}, "email": {"type": "string", "format": "email"},
                            "password": {"type": "string", "format": "password"}}},
                        "example": {"handle": "kasia", "email": "kasia@forum.test", "password": "correct horse battery"}}}},
                    "responses": {"201": {"description": "signed up"}, "409": {"description": "handle taken"}}}
            }
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let router = Router::new().route("/forum/v2/members", get(directory).post(sign_up)).with_state(forum);
    let addr = ctx.serve_axum(router)?;
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected =
        super::vulnerable_expects_at(variant, "property-authorization.mass-assignment", "POST", "/forum/v2/members");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

async fn directory(State(forum): State<Arc<Forum>>) -> Json<serde_json::Value> {
    let members = forum.members.lock().unwrap_or_else(|p| p.into_inner());
    let shown: Vec<_> = members
        .iter()
        .map(|(m, joined)| json!({"handle": m.handle, "joined": joined, "is_moderator": m.is_moderator}))
        .collect();
    Json(json!({"members": shown}))
}

fn refused(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

async fn sign_up(State(forum): State<Arc<Forum>>, body: axum::body::Bytes) -> Response {
    let member = match forum.variant {
        // The flaw: the stored type is the request type, so the caller sets `is_moderator`.
        Variant::Vulnerable => match serde_json::from_slice::<Member>(&body) {
            Ok(member) => member,
            Err(_) => return refused(StatusCode::UNPROCESSABLE_ENTITY, "handle, email and password are required"),
        },
        Variant::Fixed => match serde_json::from_slice::<SignUp>(&body) {
            Ok(SignUp { handle, email, password }) if !password.is_empty() => {
                Member { handle, _email: email, is_moderator: false }
            }
            _ => return refused(StatusCode::UNPROCESSABLE_ENTITY, "handle, email and password are required"),
        },
    };
    let valid =
        |s: &str| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid(&member.handle) {
        return refused(StatusCode::UNPROCESSABLE_ENTITY, "a handle is 1 to 64 letters, digits, '-', '_' or '.'");
    }
    let mut members = forum.members.lock().unwrap_or_else(|p| p.into_inner());
    if members.iter().any(|(m, _)| m.handle == member.handle) {
        return refused(StatusCode::CONFLICT, "that handle is taken");
    }
    if members.len() >= MAX_MEMBERS {
        return refused(StatusCode::INSUFFICIENT_STORAGE, "the forum is full");
    }
    let handle = member.handle.clone();
    members.push((member, 2026));
    (StatusCode::CREATED, Json(json!({"handle": handle}))).into_response()
}

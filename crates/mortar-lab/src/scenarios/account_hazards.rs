//! `account-hazards` (axum, active profile): a notes service whose API lets
//! any caller end its own session, lock or close its own account, and reset
//! the demo database with a public GET (which ends every session), the way
//! real services and public vulnerable APIs do. Sent by a scan before it is
//! done, any of those leaves its identities dead and every later check
//! blind. The identities log in with a recipe (alice's names a liveness
//! request, bob's does not), so a scan that ends a session can log in
//! again. Both variants have the hazards; they are not the flaw.
//! Vulnerable: `GET /notes/{noteId}` finds a note by id alone, so one user
//! reads another's. Fixed: by id and owner, 404 otherwise.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "account-hazards", start };

fn description() -> Value {
    let username = json!([{"name": "username", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let paths = json!({
        "/session": {"post": {"operationId": "signIn", "security": [],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
            "responses": {"200": {"description": "a session token"}, "401": {"description": "wrong credentials"}}}},
        "/me": {"get": {"operationId": "whoAmI", "responses": {"200": {"description": "the caller"}}}},
        "/notes": {"get": {"operationId": "listNotes", "responses": {"200": {"description": "the caller's notes"}}}},
        "/notes/{noteId}": {"get": {"operationId": "readNote",
            "parameters": [{"name": "noteId", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "a note"}, "404": {"description": "no such note"}}}},
        "/session/logout": {"post": {"operationId": "endSession", "responses": {"204": {"description": "signed out"}}}},
        "/accounts/{username}": {"delete": {"operationId": "closeAccount", "parameters": username,
            "responses": {"204": {"description": "account closed"}, "403": {"description": "not yours"}}}},
        "/accounts/{username}/lock": {"post": {"operationId": "lockAccount", "parameters": username,
            "responses": {"200": {"description": "locked"}, "403": {"description": "not yours"}}}},
        "/maintenance/reset-database": {"get": {"operationId": "resetDatabase", "security": [],
            "responses": {"200": {"description": "the demo data is restored"}}}}
    });
    let mut spec = super::bearer_api_description("Notes", paths);
    spec["servers"] = json!([{"url": "/svc/v2"}]);
    spec
}

struct Note {
    id: &'static str,
    owner: &'static str,
    subject: &'static str,
    text: &'static str,
}

const NOTES: [Note; 4] = [
    Note { id: "nt-4c1a", owner: "alice", subject: "Offsite", text: "Venue deposit paid from the Lisbon account" },
    Note { id: "nt-4c1b", owner: "alice", subject: "Hiring", text: "Offer for the staff engineer: 182k" },
    Note { id: "nt-9e70", owner: "bob", subject: "Audit", text: "Auditor flagged the March reconciliation" },
    Note { id: "nt-9e71", owner: "bob", subject: "Keys", text: "Rotate the partner SFTP key before Friday" },
];

/// (user, password): the demo accounts a reset restores.
type Accounts = Vec<(&'static str, String)>;

struct Service {
    variant: Variant,
    accounts: Accounts,
    /// Live sessions: token -> user.
    sessions: Mutex<BTreeMap<String, &'static str>>,
    /// Accounts locked or closed since the last reset: they cannot sign in.
    closed: Mutex<BTreeSet<&'static str>>,
    /// Failed sign-ins in the current window (the sign-in is rate limited in
    /// both variants, so the only flaw is the note lookup).
    failures: Mutex<(Instant, u32)>,
}

/// Failed sign-ins allowed per window before 429.
const FAILED_SIGN_INS: u32 = 3;
const SIGN_IN_WINDOW: Duration = Duration::from_secs(60);

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let mut args = ctx.ca_args();
    let mut config = String::from("profile = \"active\"\n");
    let mut accounts = Vec::new();
    for (who, liveness) in [("alice", Some("GET /svc/v2/me")), ("bob", None)] {
        let password = crate::tls::random_hex(12)?;
        let body_path = ctx.dir().join(format!("{}-{variant}-{who}-login.json", SCENARIO.name));
        let body = json!({"username": who, "password": password}).to_string();
        crate::write_private_file(&body_path, body.as_bytes())?;
        config.push_str(&format!(
            "\n[identities.{who}.login]\nrequest = \"POST /svc/v2/session\"\nheaders = {{ \"Content-Type\" = \"application/json\" }}\nbody = \"@{}\"\ntoken_json = \"/data/access_token\"\n",
            body_path.display()
        ));
        if let Some(liveness) = liveness {
            config.push_str(&format!("liveness = \"{liveness}\"\n"));
        }
        accounts.push((who, password));
    }
    let config_path = ctx.dir().join(format!("{}-{variant}.toml", SCENARIO.name));
    crate::write_private_file(&config_path, config.as_bytes())?;
    args.extend(["--config".to_owned(), config_path.display().to_string()]);
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, serde_json::to_string_pretty(&description()).unwrap_or_default().as_bytes())?;
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    let service = Arc::new(Service {
        variant,
        accounts,
        sessions: Mutex::new(BTreeMap::new()),
        closed: Mutex::new(BTreeSet::new()),
        failures: Mutex::new((Instant::now(), 0)),
    });
    let router = Router::new()
        .route("/svc/v2/session", post(sign_in))
        .route("/svc/v2/me", get(me))
        .route("/svc/v2/notes", get(list))
        .route("/svc/v2/notes/{note_id}", get(read))
        .route("/svc/v2/session/logout", post(logout))
        .route("/svc/v2/accounts/{username}", delete(close))
        .route("/svc/v2/accounts/{username}/lock", post(lock))
        .route("/svc/v2/maintenance/reset-database", get(reset))
        .with_state(service);
    let addr = ctx.serve_axum(router)?;
    let expected = super::vulnerable_expects_at(variant, "bola.cross-identity-read", "GET", "/svc/v2/notes/{noteId}");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

/// The caller and its token, while its session lives.
fn caller(service: &Service, headers: &HeaderMap) -> Option<(String, &'static str)> {
    let token = headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
    let who = *service.sessions.lock().ok()?.get(token)?;
    Some((token.to_owned(), who))
}

async fn sign_in(State(service): State<Arc<Service>>, Json(body): Json<Value>) -> Response {
    let (user, password) = (body["username"].as_str().unwrap_or_default(), body["password"].as_str());
    let account = service.accounts.iter().find(|(who, secret)| *who == user && Some(secret.as_str()) == password);
    let closed = |who: &str| service.closed.lock().map(|c| c.contains(who)).unwrap_or(true);
    let (Some((who, _)), Ok(token)) = (account.filter(|(who, _)| !closed(who)), crate::tls::random_hex(16)) else {
        let Ok(mut failures) = service.failures.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if failures.0.elapsed() > SIGN_IN_WINDOW {
            *failures = (Instant::now(), 0);
        }
        failures.1 += 1;
        if failures.1 > FAILED_SIGN_INS {
            return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], Json(json!({"message": "slow down"})))
                .into_response();
        }
        return (StatusCode::UNAUTHORIZED, Json(json!({"message": "wrong username or password"}))).into_response();
    };
    if let Ok(mut sessions) = service.sessions.lock() {
        sessions.insert(token.clone(), who);
    }
    Json(json!({"data": {"access_token": token, "token_type": "bearer"}})).into_response()
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"message": "session expired or invalid"}))).into_response()
}

fn end_session(service: &Service, token: &str) {
    if let Ok(mut sessions) = service.sessions.lock() {
        sessions.remove(token);
    }
}

async fn me(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let Some((_, who)) = caller(&service, &headers) else { return unauthorized() };
    Json(json!({"data": {"username": who, "plan": "team"}})).into_response()
}

async fn list(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let Some((_, who)) = caller(&service, &headers) else { return unauthorized() };
    let mine: Vec<Value> =
        NOTES.iter().filter(|n| n.owner == who).map(|n| json!({"id": n.id, "subject": n.subject})).collect();
    Json(json!({"data": mine})).into_response()
}

async fn read(State(service): State<Arc<Service>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Some((_, who)) = caller(&service, &headers) else { return unauthorized() };
    let visible = |n: &&Note| n.id == id && (service.variant == Variant::Vulnerable || n.owner == who);
    match NOTES.iter().find(visible) {
        Some(n) => Json(json!({"data": {"id": n.id, "subject": n.subject, "text": n.text}})).into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!({"message": "no such note"}))).into_response(),
    }
}

async fn logout(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    let Some((token, _)) = caller(&service, &headers) else { return unauthorized() };
    end_session(&service, &token);
    StatusCode::NO_CONTENT.into_response()
}

/// Closing or locking an account ends its sessions and its sign-in until a
/// reset; only the owner may.
fn own_account_action(service: &Service, headers: &HeaderMap, username: &str, done: StatusCode) -> Response {
    let Some((_, who)) = caller(service, headers) else { return unauthorized() };
    if who != username {
        return (StatusCode::FORBIDDEN, Json(json!({"message": "not your account"}))).into_response();
    }
    if let (Ok(mut sessions), Ok(mut closed)) = (service.sessions.lock(), service.closed.lock()) {
        sessions.retain(|_, owner| *owner != who);
        closed.insert(who);
    }
    done.into_response()
}

async fn close(State(service): State<Arc<Service>>, headers: HeaderMap, Path(username): Path<String>) -> Response {
    own_account_action(&service, &headers, &username, StatusCode::NO_CONTENT)
}

async fn lock(State(service): State<Arc<Service>>, headers: HeaderMap, Path(username): Path<String>) -> Response {
    own_account_action(&service, &headers, &username, StatusCode::OK)
}

/// Restores the demo data: every account open again, every session gone.
async fn reset(State(service): State<Arc<Service>>) -> Response {
    if let (Ok(mut sessions), Ok(mut closed)) = (service.sessions.lock(), service.closed.lock()) {
        sessions.clear();
        closed.clear();
    }
    Json(json!({"status": "demo data restored"})).into_response()
}

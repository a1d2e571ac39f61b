//! `user-enumeration` (axum, active profile): a help desk's sign-in,
//! `POST /auth/v2/sessions` (operationId `signIn`) with `{"email", "secret"}`,
//! beside a public agent directory that lists the agents' addresses. The
//! vulnerable variant answers a missing account with 404 "no account for
//! that email" and a wrong password with 401 "wrong password"; the fixed
//! variant answers both with one 401 "invalid email or password". Both
//! limit failed sign-ins per address (more than 10 in 30 s are answered 429),
//! so the rate-limit check has nothing to say about either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "user-enumeration", start };

const AGENTS: &[(&str, &str)] =
    &[("Mara Lindqvist", "mara.lindqvist@helpdesk.example"), ("Jonas Berg", "jonas.berg@helpdesk.example")];

/// Failed sign-ins allowed per address within [`FAILURE_WINDOW`].
const MAX_FAILURES: usize = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(30);

struct Desk {
    variant: Variant,
    secret: String,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Desk {
    /// Records a failed sign-in for `email`; false once it has failed too often.
    fn may_fail(&self, email: &str) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let recent = failures.entry(email.to_owned()).or_default();
        recent.retain(|at| at.elapsed() < FAILURE_WINDOW);
        recent.push(Instant::now());
        recent.len() <= MAX_FAILURES
    }
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let desk = Arc::new(Desk { variant, secret: crate::tls::random_hex(16)?, failures: Mutex::default() });
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Help desk", "version": "2.0.0"},
        "servers": [{"url": "/auth/v2"}],
        "paths": {
            "/agents": {"get": {"operationId": "listAgents", "responses": {"200": {"description": "the agents"}}}},
            "/sessions": {"post": {"operationId": "signIn",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                    "required": ["email", "secret"],
                    "properties": {"email": {"type": "string", "format": "email"}, "secret": {"type": "string", "format": "password"}}}}}},
                "responses": {"200": {"description": "signed in"}, "401": {"description": "not signed in"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let router =
        Router::new().route("/auth/v2/agents", get(agents)).route("/auth/v2/sessions", post(sign_in)).with_state(desk);
    let addr = ctx.serve_axum(router)?;
    let mut args = ctx.ca_args();
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected =
        super::vulnerable_expects_at(variant, "authentication.user-enumeration", "POST", "/auth/v2/sessions");
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

async fn agents() -> Json<Value> {
    Json(
        json!({"agents": AGENTS.iter().map(|(name, email)| json!({"name": name, "email": email})).collect::<Vec<_>>()}),
    )
}

async fn sign_in(State(desk): State<Arc<Desk>>, Json(body): Json<Value>) -> Response {
    let email = body.get("email").and_then(Value::as_str).unwrap_or_default();
    let secret = body.get("secret").and_then(Value::as_str).unwrap_or_default();
    let known = AGENTS.iter().any(|(_, e)| *e == email);
    if known && secret == desk.secret {
        return Json(json!({"session": "s-1", "expires_in": 900})).into_response();
    }
    if !desk.may_fail(email) {
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], Json(json!({"error": "too many attempts"})))
            .into_response();
    }
    match (desk.variant, known) {
        // The flaw: the two failures are told apart.
        (Variant::Vulnerable, false) => {
            (StatusCode::NOT_FOUND, Json(json!({"error": "no account for that email"}))).into_response()
        }
        (Variant::Vulnerable, true) => {
            (StatusCode::UNAUTHORIZED, Json(json!({"error": "wrong password"}))).into_response()
        }
        (Variant::Fixed, _) => {
            (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid email or password"}))).into_response()
        }
    }
}

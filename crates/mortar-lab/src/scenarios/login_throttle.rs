//! `login-throttle` (axum, active profile): a sign-in operation, scanned
//! with its OpenAPI description. Vulnerable: every attempt is checked, as
//! many as come. Fixed: after 5 failed attempts for one user name within a
//! minute, the next ones are answered 429 with `Retry-After` until the
//! minute is over.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "login-throttle", start };

/// Failed attempts allowed per user name and window.
const MAX_FAILURES: usize = 5;
const WINDOW: Duration = Duration::from_secs(60);

struct SignIn {
    variant: Variant,
    password: String,
    /// User name → times of recent failures.
    failures: Mutex<BTreeMap<String, Vec<Instant>>>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let description = json!({
        "openapi": "3.0.3",
        "info": {"title": "Sign-in", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "paths": {"/auth/login": {"post": {
            "operationId": "login",
            "security": [],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                "required": ["username", "password"],
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}}},
            "responses": {"200": {"description": "signed in"}, "401": {"description": "wrong user name or password"},
                "429": {"description": "too many attempts"}}
        }}}
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, serde_json::to_string_pretty(&description).unwrap_or_default().as_bytes())?;
    let mut args = ctx.ca_args();
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    let state = SignIn { variant, password: crate::tls::random_hex(16)?, failures: Mutex::new(BTreeMap::new()) };
    let router = Router::new().route("/api/v1/auth/login", post(login)).with_state(Arc::new(state));
    let addr = ctx.serve_axum(router)?;
    let expected = super::vulnerable_expects(variant, &["rate-limiting.sensitive-operation-unlimited"]);
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

async fn login(State(state): State<Arc<SignIn>>, Json(body): Json<Value>) -> Response {
    let user = body["username"].as_str().unwrap_or_default().to_owned();
    let given = body["password"].as_str().unwrap_or_default();
    let Ok(mut failures) = state.failures.lock() else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let recent = failures.entry(user.clone()).or_default();
    recent.retain(|t| t.elapsed() < WINDOW);
    if state.variant == Variant::Fixed && recent.len() >= MAX_FAILURES {
        let mut response =
            (StatusCode::TOO_MANY_REQUESTS, Json(json!({"error": "too many attempts, try again later"})))
                .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return response;
    }
    if user == "alice" && given == state.password {
        recent.clear();
        return Json(json!({"access_token": "not-issued-in-the-lab", "token_type": "Bearer"})).into_response();
    }
    // The flaw in the vulnerable variant: failures are counted nowhere that matters.
    recent.push(Instant::now());
    (StatusCode::UNAUTHORIZED, Json(json!({"error": "wrong user name or password"}))).into_response()
}

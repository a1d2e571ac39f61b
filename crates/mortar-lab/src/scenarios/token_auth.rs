//! Token verification, two ways of getting it wrong. Both APIs serve an
//! OpenAPI description declaring bearer authentication and are scanned with
//! one customer's token; a request without it is refused (401) in every
//! variant.
//!
//! - `jwt-auth` (axum): HS256 JWTs with an `exp` one hour ahead. The
//!   vulnerable verifier takes the algorithm from the token's own header (so
//!   `alg: none` skips the signature), never looks at `exp`, and signs with
//!   the tutorial key `secret`. The fixed one accepts HS256 only, with a
//!   random 32-byte key, and refuses expired tokens.
//! - `bearer-presence` (actix-web): opaque session tokens. The vulnerable
//!   middleware checks that a `Bearer` token is present, not that it is a
//!   session's; the fixed one looks it up in the session store.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpRequest, HttpResponse, web};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};

use super::Scenario;
use super::jwt_weak::mint;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const JWT: Scenario = Scenario { name: "jwt-auth", start: start_jwt };
pub(super) const OPAQUE: Scenario = Scenario { name: "bearer-presence", start: start_opaque };

/// An OpenAPI 3.0 description of two bearer-protected GET operations under `/api/v1`.
fn description(title: &str, paths: [(&str, &str); 2]) -> Value {
    let mut described = Map::new();
    for (path, id) in paths {
        described.insert(
            path.to_owned(),
            json!({"get": {"operationId": id, "responses": {"200": {"description": "ok"}, "401": {"description": "no valid token"}}}}),
        );
    }
    super::bearer_api_description(title, Value::Object(described))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// Alice's data, what a valid token is answered with.
fn profile() -> Value {
    json!({"id": "cust-58213", "display_name": "Alice Marchetti", "plan": "business-annual", "seats": 25})
}

fn notes() -> Value {
    json!({"notes": [
        {"id": "note-9f31", "title": "Quarterly supplier review"},
        {"id": "note-9f32", "title": "Renewal terms for Harbor Logistics"},
    ]})
}

struct JwtVerifier {
    variant: Variant,
    key: Vec<u8>,
}

fn start_jwt(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let key = match variant {
        Variant::Vulnerable => b"secret".to_vec(),
        Variant::Fixed => crate::tls::random_hex(32)?.into_bytes(),
    };
    let issued = now();
    let token = mint(&key, &json!({"sub": "cust-58213", "iat": issued, "exp": issued + 3600}));
    let spec = description("Customer portal", [("/me", "getProfile"), ("/notes", "listNotes")]);
    let (args, spec_path) = super::bearer_spec_args(ctx, JWT.name, variant, &spec, &format!("Bearer {token}"))?;
    let router = Router::new()
        .route("/api/v1/me", get(jwt_profile))
        .route("/api/v1/notes", get(jwt_notes))
        .with_state(Arc::new(JwtVerifier { variant, key }));
    let addr = ctx.serve_axum(router)?;
    let expected = match variant {
        Variant::Vulnerable => vec![
            Expected::Check("authentication.forged-token-accepted".to_owned()),
            Expected::Check("authentication.jwt-weaknesses".to_owned()),
        ],
        Variant::Fixed => Vec::new(),
    };
    Ok(super::spec_target(JWT.name, variant, addr, &spec_path, args, expected))
}

fn b64url(part: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()
}

/// The subject of a valid token, as each variant decides it.
fn verify_jwt(verifier: &JwtVerifier, headers: &HeaderMap) -> Option<String> {
    let token = headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")?;
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    let header: Value = serde_json::from_slice(&b64url(h)?).ok()?;
    let claims: Value = serde_json::from_slice(&b64url(p)?).ok()?;
    let alg = header.get("alg")?.as_str()?;
    let signature_ok = || {
        let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&verifier.key) else { return false };
        mac.update(format!("{h}.{p}").as_bytes());
        b64url(s).is_some_and(|sig| mac.verify_slice(&sig).is_ok())
    };
    match verifier.variant {
        Variant::Vulnerable => {
            // The flaw: the token says how it is signed, and nobody reads `exp`.
            let trusted = if alg.eq_ignore_ascii_case("none") { true } else { alg == "HS256" && signature_ok() };
            if !trusted {
                return None;
            }
        }
        Variant::Fixed => {
            let fresh = claims.get("exp").and_then(Value::as_u64).is_some_and(|exp| exp > now());
            if alg != "HS256" || !signature_ok() || !fresh {
                return None;
            }
        }
    }
    claims.get("sub")?.as_str().map(str::to_owned)
}

fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"error": "valid bearer token required"}))).into_response()
}

async fn jwt_profile(State(verifier): State<Arc<JwtVerifier>>, headers: HeaderMap) -> Response {
    match verify_jwt(&verifier, &headers) {
        Some(sub) if sub == "cust-58213" => Json(profile()).into_response(),
        _ => unauthorized(),
    }
}

async fn jwt_notes(State(verifier): State<Arc<JwtVerifier>>, headers: HeaderMap) -> Response {
    match verify_jwt(&verifier, &headers) {
        Some(sub) if sub == "cust-58213" => Json(notes()).into_response(),
        _ => unauthorized(),
    }
}

/// The session store: token to customer.
#[derive(Clone)]
struct Sessions {
    variant: Variant,
    tokens: Arc<Vec<(String, &'static str)>>,
}

fn start_opaque(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let token = crate::tls::random_hex(24)?;
    let spec = description("Reports", [("/reports", "listReports"), ("/account", "getAccount")]);
    let (args, spec_path) = super::bearer_spec_args(ctx, OPAQUE.name, variant, &spec, &format!("Bearer {token}"))?;
    let sessions = Sessions { variant, tokens: Arc::new(vec![(token, "cust-58213")]) };
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(sessions.clone()))
            .route("/api/v1/reports", web::get().to(opaque_reports))
            .route("/api/v1/account", web::get().to(opaque_account))
    })?;
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::Check("authentication.forged-token-accepted".to_owned())],
        Variant::Fixed => Vec::new(),
    };
    Ok(super::spec_target(OPAQUE.name, variant, addr, &spec_path, args, expected))
}

/// Whether the request carries a session, as each variant decides it.
fn signed_in(sessions: &Sessions, request: &HttpRequest) -> bool {
    let Some(token) =
        request.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    match sessions.variant {
        // The flaw: a token is there, so someone must have signed in.
        Variant::Vulnerable => !token.trim().is_empty(),
        Variant::Fixed => sessions.tokens.iter().any(|(t, _)| t == token),
    }
}

fn refused() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({"error": "valid bearer token required"}))
}

async fn opaque_reports(sessions: web::Data<Sessions>, request: HttpRequest) -> HttpResponse {
    if !signed_in(&sessions, &request) {
        return refused();
    }
    HttpResponse::Ok().json(json!({"reports": [
        {"id": "rep-2291", "title": "Churn by region, Q3", "rows": 1842},
        {"id": "rep-2292", "title": "Revenue bridge FY26", "rows": 377},
    ]}))
}

async fn opaque_account(sessions: web::Data<Sessions>, request: HttpRequest) -> HttpResponse {
    if !signed_in(&sessions, &request) {
        return refused();
    }
    HttpResponse::Ok().json(profile())
}

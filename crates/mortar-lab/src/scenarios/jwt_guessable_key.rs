//! `jwt-guessable-key` (actix-web): a fleet-telematics API under `/fleet/v3`
//! takes HS384 JWTs with a one-hour `exp`, checks algorithm, signature and
//! expiry correctly, and is scanned with one dispatcher's token. The only
//! flaw of the vulnerable variant is its key, the API's own name and a year
//! (`Fleet2024`), the kind of key no fixed list of tutorial secrets holds
//! but a dictionary that learns words from the API does. The fixed variant
//! signs with a random 48-byte key. `GET /drivers` needs the `admin` scope,
//! which the dispatcher's token does not carry (403): with the guessed key
//! anyone mints a token that does, so the vulnerable variant also serves the
//! drivers' records to a forged token.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpRequest, HttpResponse, web};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "jwt-guessable-key", start };

/// The vulnerable variant's key: a word of the API and a year.
const GUESSABLE_KEY: &[u8] = b"Fleet2024";

struct Verifier {
    key: Vec<u8>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn mint_hs384(key: &[u8], claims: &Value) -> String {
    let input = format!("{}.{}", b64(br#"{"typ":"JWT","alg":"HS384"}"#), b64(claims.to_string().as_bytes()));
    let mut mac = <Hmac<sha2::Sha384> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let key = match variant {
        Variant::Vulnerable => GUESSABLE_KEY.to_vec(),
        Variant::Fixed => crate::tls::random_hex(48)?.into_bytes(),
    };
    let issued = now();
    let token = mint_hs384(
        &key,
        &json!({"sub": "dispatcher-17", "scope": "vehicles:read", "iat": issued, "exp": issued + 3600}),
    );
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Fleet telematics", "version": "3.2.0"},
        "servers": [{"url": "/fleet/v3"}],
        "components": {"securitySchemes": {"dispatcherToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"dispatcherToken": []}],
        "paths": {
            "/vehicles": {"get": {"operationId": "listVehicles", "responses": {"200": {"description": "the fleet"}, "401": {"description": "no valid token"}}}},
            "/vehicles/{vin}/position": {"get": {"operationId": "vehiclePosition",
                "parameters": [{"name": "vin", "in": "path", "required": true, "schema": {"type": "string"}, "example": "WDB9634031L738211"}],
                "responses": {"200": {"description": "last known position"}, "401": {"description": "no valid token"}}}},
            "/drivers": {"get": {"operationId": "listDrivers", "description": "Needs the `admin` scope.",
                "responses": {"200": {"description": "the drivers"}, "401": {"description": "no valid token"},
                    "403": {"description": "the token lacks the admin scope"}}}}
        }
    });
    let (args, spec_path) = super::bearer_spec_args(ctx, SCENARIO.name, variant, &spec, &format!("Bearer {token}"))?;
    let verifier = Arc::new(Verifier { key });
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::from(verifier.clone()))
            .route("/fleet/v3/vehicles", web::get().to(vehicles))
            .route("/fleet/v3/vehicles/{vin}/position", web::get().to(position))
            .route("/fleet/v3/drivers", web::get().to(drivers))
    })?;
    let expected =
        super::vulnerable_expects(variant, &["authentication.jwt-weaknesses", "authentication.forged-token-accepted"]);
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

/// Whether the request carries a valid, unexpired HS384 token (the same in both variants).
fn authorised(verifier: &Verifier, request: &HttpRequest) -> bool {
    claims(verifier, request).is_some()
}

/// The claims of a valid, unexpired HS384 token.
fn claims(verifier: &Verifier, request: &HttpRequest) -> Option<Value> {
    let token =
        request.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))?;
    let decode = |part: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok();
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let header: Value = decode(h).and_then(|b| serde_json::from_slice(&b).ok())?;
    if header.get("alg").and_then(Value::as_str) != Some("HS384") {
        return None;
    }
    let mut mac = <Hmac<sha2::Sha384> as Mac>::new_from_slice(&verifier.key).ok()?;
    mac.update(format!("{h}.{p}").as_bytes());
    mac.verify_slice(&decode(s)?).ok()?;
    let claims: Value = decode(p).and_then(|b| serde_json::from_slice(&b).ok())?;
    claims.get("exp").and_then(Value::as_u64).is_some_and(|exp| exp > now()).then_some(claims)
}

fn refused() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header(("WWW-Authenticate", "Bearer realm=\"fleet\""))
        .json(json!({"title": "Unauthorized", "status": 401}))
}

async fn vehicles(verifier: web::Data<Verifier>, request: HttpRequest) -> HttpResponse {
    if !authorised(&verifier, &request) {
        return refused();
    }
    HttpResponse::Ok().json(json!({"items": [
        {"vin": "WDB9634031L738211", "plate": "HH-FL 2291", "status": "en-route"},
        {"vin": "YV2RT40A8KB912204", "plate": "HH-FL 2304", "status": "depot"},
    ]}))
}

async fn position(verifier: web::Data<Verifier>, request: HttpRequest, vin: web::Path<String>) -> HttpResponse {
    if !authorised(&verifier, &request) {
        return refused();
    }
    HttpResponse::Ok().json(json!({"vin": vin.into_inner(), "lat": 53.5461, "lon": 9.9661, "speed_kmh": 62}))
}

async fn drivers(verifier: web::Data<Verifier>, request: HttpRequest) -> HttpResponse {
    let Some(claims) = claims(&verifier, &request) else { return refused() };
    let scopes = claims.get("scope").and_then(Value::as_str).unwrap_or_default();
    if !scopes.split(' ').any(|s| s == "admin") {
        return HttpResponse::Forbidden()
            .json(json!({"title": "Forbidden", "status": 403, "detail": "needs the admin scope"}));
    }
    HttpResponse::Ok().json(json!({"items": [
        {"driver": "D-0412", "licence_class": "CE", "depot": "Hamburg-Billbrook"},
        {"driver": "D-0587", "licence_class": "C", "depot": "Hamburg-Wilhelmsburg"},
    ]}))
}

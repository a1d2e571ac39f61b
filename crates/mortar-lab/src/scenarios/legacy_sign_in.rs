//! `legacy-sign-in` (actix-web, active profile): a customer portal whose
//! description has no `servers` (every path is written out under
//! `/portal/...`). Its v3 sign-in takes `{"account": {"email", "password"}}`
//! and throttles failed attempts; a one-time code is checked at
//! `POST /portal/v3/accounts/{account_id}/otp/verify?code=`.
//!
//! The vulnerable variant still mounts the v2 sign-in it replaced, without
//! the throttle, and an undocumented `GET /portal/admin` answers any
//! signed-in caller; its code check counts no failures. The fixed variant
//! removed both routes and throttles the code check like the sign-in.

use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "legacy-sign-in", start };

/// Failed attempts allowed per window before answering 429.
const ALLOWED_FAILURES: usize = 5;
const WINDOW: Duration = Duration::from_secs(60);

/// The one account; its code never matches what a scanner guesses.
const ACCOUNT_ID: u64 = 1001;

struct Portal {
    variant: Variant,
    bearer: String,
    /// When recent failed attempts happened, per throttled route.
    failures: Mutex<Vec<(&'static str, Instant)>>,
}

impl Portal {
    /// Records a failure on `route` and says whether the caller is now over the limit.
    fn throttled(&self, route: &'static str) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        failures.retain(|(_, at)| now.duration_since(*at) < WINDOW);
        failures.push((route, now));
        failures.iter().filter(|(r, _)| *r == route).count() > ALLOWED_FAILURES
    }
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "Customer portal", "version": "3.1.0"},
        "paths": {
            "/portal/v3/session/login": {"post": {"operationId": "signIn",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["account"],
                    "properties": {"account": {"type": "object", "required": ["email", "password"], "properties": {
                        "email": {"type": "string", "format": "email", "example": "customer@portal.test"},
                        "password": {"type": "string", "example": "correct horse"}}}}}}}},
                "responses": {"200": {"description": "signed in"}, "401": {"description": "wrong credentials"},
                    "429": {"description": "too many attempts"}}}},
            "/portal/v3/accounts/{account_id}/otp/verify": {"post": {"operationId": "verifyCode",
                "parameters": [
                    {"name": "account_id", "in": "path", "required": true, "schema": {"type": "integer"}, "example": ACCOUNT_ID},
                    {"name": "code", "in": "query", "required": true, "schema": {"type": "string"}, "example": "482913"}],
                "responses": {"200": {"description": "code accepted"}, "401": {"description": "wrong code"},
                    "404": {"description": "no such account"}, "429": {"description": "too many attempts"}}}},
            "/portal/catalog/items": {"get": {"operationId": "listItems",
                "responses": {"200": {"description": "the catalog"}}}}
        }
    });
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_private_file(&spec_path, spec.to_string().as_bytes())?;
    let mut args = ctx.ca_args();
    let tokens = super::customer_tokens(ctx, SCENARIO.name, variant, &["alice"], &mut args)?;
    let bearer = tokens.into_iter().next().map(|(authorization, _)| authorization).unwrap_or_default();
    let portal = web::Data::new(Portal { variant, bearer, failures: Mutex::new(Vec::new()) });
    let addr = ctx.serve_actix(move || {
        let mut app = App::new()
            .app_data(portal.clone())
            .route("/portal/v3/session/login", web::post().to(sign_in_v3))
            .route("/portal/v3/accounts/{account_id}/otp/verify", web::post().to(verify_code))
            .route("/portal/catalog/items", web::get().to(items));
        if variant == Variant::Vulnerable {
            // The drift: the old sign-in and an admin page were never unmounted.
            app = app
                .route("/portal/v2/session/login", web::post().to(sign_in_v2))
                .route("/portal/admin", web::get().to(admin));
        }
        app
    })?;
    args.extend(["--spec".to_owned(), spec_path.display().to_string()]);
    super::active_profile_args(ctx, SCENARIO.name, variant, &mut args)?;
    let expected = super::vulnerable_expects_each(
        variant,
        &[
            ("inventory.undocumented-endpoints", "POST", "/portal/v2/session/login"),
            ("inventory.undocumented-endpoints", "GET", "/portal/admin"),
            ("rate-limiting.sensitive-operation-unlimited", "POST", "/portal/v3/accounts/{account_id}/otp/verify"),
        ],
    );
    Ok(super::spec_target(SCENARIO.name, variant, addr, &spec_path, args, expected))
}

fn wrong_credentials() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({"error": "wrong e-mail or password"}))
}

fn too_many() -> HttpResponse {
    HttpResponse::TooManyRequests().insert_header(("retry-after", "1")).json(json!({"error": "too many attempts"}))
}

/// No account signs in here: the lab has nothing to guard behind it.
async fn sign_in_v3(portal: web::Data<Portal>, body: web::Bytes) -> HttpResponse {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    if parsed.as_ref().and_then(|b| b["account"]["email"].as_str()).is_none() {
        return HttpResponse::BadRequest().json(json!({"error": "account.email and account.password are required"}));
    }
    if portal.throttled("sign-in") { too_many() } else { wrong_credentials() }
}

/// The v2 form (`{"email", "password"}`), from before the throttle.
async fn sign_in_v2(body: web::Bytes) -> HttpResponse {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    if parsed.as_ref().and_then(|b| b["email"].as_str()).is_none() {
        return HttpResponse::BadRequest().json(json!({"error": "email and password are required"}));
    }
    wrong_credentials()
}

async fn verify_code(portal: web::Data<Portal>, path: web::Path<String>) -> HttpResponse {
    // The fixed variant counts every failed check, whatever the account.
    if portal.variant == Variant::Fixed && portal.throttled("code") {
        return too_many();
    }
    match path.parse::<u64>() {
        Ok(ACCOUNT_ID) => HttpResponse::Unauthorized().json(json!({"error": "wrong code"})),
        _ => HttpResponse::NotFound().json(json!({"error": "no such account"})),
    }
}

async fn items() -> HttpResponse {
    HttpResponse::Ok().json(json!({"items": [{"sku": "KB-1", "name": "keyboard"}, {"sku": "MS-2", "name": "mouse"}]}))
}

async fn admin(portal: web::Data<Portal>, request: HttpRequest) -> HttpResponse {
    let given = request.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    if given != portal.bearer {
        return HttpResponse::Unauthorized().json(json!({"error": "sign in first"}));
    }
    HttpResponse::Ok().json(json!({"accounts": 1, "signInsToday": 14, "pendingRefunds": 2}))
}

//! `version-disclosure` (actix-web): a bearer-protected inventory API whose
//! vulnerable variant names its software and versions in `Server` and
//! `X-Powered-By` on every response; the fixed one sends neither.
//!
//! `GET /api/` echoes the caller's `Authorization` value back, so a test can
//! prove mortar redacts credentials from its evidence.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use actix_web::middleware::{Condition, DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, web};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "version-disclosure", start };

/// The exact `Authorization` value the service accepts.
struct ExpectedAuthorization(String);

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let authorization = format!("Bearer {}", crate::tls::random_hex(16)?);
    let identity_path = ctx.dir().join(format!("{}-{variant}.identity", SCENARIO.name));
    crate::write_private_file(&identity_path, authorization.as_bytes())?;

    let authorization: Arc<str> = authorization.into();
    let disclose = variant == Variant::Vulnerable;
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(ExpectedAuthorization(authorization.to_string())))
            .wrap(from_fn(require_bearer))
            // Outermost, so the 401s disclose the versions as well.
            .wrap(Condition::new(
                disclose,
                DefaultHeaders::new().add(("Server", "inventory-api/2.4.1")).add(("X-Powered-By", "actix-web/4.4.0")),
            ))
            .route("/api/", web::get().to(index))
            .route("/api/items", web::get().to(items))
    })?;

    let mut scan_args = ctx.ca_args();
    scan_args.push("--identity".to_owned());
    scan_args.push(format!("alice=Authorization:@{}", identity_path.display()));
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::Check("inventory.version-disclosure".to_owned())],
        Variant::Fixed => Vec::new(),
    };
    Ok(LabTarget {
        scenario: SCENARIO.name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: None,
        scan_args,
        expected,
        allowed: Vec::new(),
    })
}

/// Rejects requests without the exact bearer token with a JSON 401.
async fn require_bearer(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let authorized =
        match (request.app_data::<web::Data<ExpectedAuthorization>>(), request.headers().get(AUTHORIZATION)) {
            (Some(expected), Some(given)) => constant_time_eq(expected.0.as_bytes(), given.as_bytes()),
            _ => false,
        };
    if authorized {
        return Ok(next.call(request).await?.map_into_left_body());
    }
    let response =
        HttpResponse::Unauthorized().insert_header((WWW_AUTHENTICATE, "Bearer")).json(json!({"error": "unauthorized"}));
    Ok(request.into_response(response).map_into_right_body())
}

/// Compares without an early exit, so timing does not leak the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn index(request: HttpRequest) -> HttpResponse {
    let caller = request.headers().get(AUTHORIZATION).and_then(|value| value.to_str().ok()).unwrap_or_default();
    HttpResponse::Ok().json(json!({"service": "inventory", "caller": caller}))
}

async fn items() -> HttpResponse {
    HttpResponse::Ok().json(json!([
        {"sku": "KB-104", "name": "keyboard", "stock": 12},
        {"sku": "MN-270", "name": "monitor", "stock": 3},
    ]))
}

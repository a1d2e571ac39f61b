//! `hsts` (actix-web): an HTTPS API whose vulnerable variant sends no
//! Strict-Transport-Security header; the fixed one sends a one-year policy.
//! Served without the lab's baseline headers, so the other baseline headers
//! are set here, identically in both variants.

use actix_web::middleware::{Condition, DefaultHeaders};
use actix_web::{App, HttpResponse, web};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "hsts", start };

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let hsts = variant == Variant::Fixed;
    let addr = ctx.serve_actix_bare(move || {
        App::new()
            .wrap(Condition::new(
                hsts,
                DefaultHeaders::new().add(("Strict-Transport-Security", "max-age=31536000; includeSubDomains")),
            ))
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Content-Security-Policy", "frame-ancestors 'none'")),
            )
            .route("/api/", web::get().to(index))
            .route("/api/accounts", web::get().to(accounts))
    })?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "encryption.hsts"))
}

async fn index() -> HttpResponse {
    HttpResponse::Ok().json(json!({"service": "accounts", "version": "v1"}))
}

async fn accounts() -> HttpResponse {
    HttpResponse::Ok().json(json!([{"id": "acc_1", "owner": "erin", "currency": "EUR"}]))
}

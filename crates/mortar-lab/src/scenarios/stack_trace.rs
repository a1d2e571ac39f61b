//! `stack-trace` (actix-web): a catalog whose item route parses its id by
//! hand. On a non-numeric id the vulnerable variant answers 500 with the
//! panic message and backtrace it caught (a "debug mode" error body); the
//! fixed one answers 400 with a generic JSON error and keeps details in logs.

use actix_web::{App, HttpResponse, web};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "stack-trace", start };

/// What the vulnerable variant's debug error body looks like (a caught panic).
const DEBUG_BODY: &str = "Internal Server Error\n\n\
thread 'actix-rt|system:0|arbiter:1' panicked at src/handlers/items.rs:42:38:\n\
called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }\n\
stack backtrace:\n   0: rust_begin_unwind\n   1: core::panicking::panic_fmt\n   2: core::result::unwrap_failed\n\
   3: catalog::handlers::items::get_item\n             at ./src/handlers/items.rs:42:38\n\
note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n";

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(variant))
            .route("/api/", web::get().to(index))
            .route("/api/items/{id}", web::get().to(item))
    })?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "data-exposure.stack-trace"))
}

async fn index() -> HttpResponse {
    HttpResponse::Ok().json(json!({"service": "catalog", "links": {"first_item": "/api/items/1"}}))
}

async fn item(variant: web::Data<Variant>, id: web::Path<String>) -> HttpResponse {
    match id.parse::<u64>() {
        Ok(id) => HttpResponse::Ok().json(json!({"id": id, "name": "keyboard", "price": "49.90"})),
        // The flaw: the caught panic and its backtrace go back to the caller.
        Err(_) if **variant == Variant::Vulnerable => {
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body(DEBUG_BODY)
        }
        Err(_) => HttpResponse::BadRequest().json(json!({"error": "invalid item id"})),
    }
}

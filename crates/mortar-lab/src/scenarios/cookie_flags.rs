//! `cookie-flags` (actix-web): an API that opens a session on `GET /api/`.
//! The vulnerable variant sets the session cookie without Secure, HttpOnly
//! or SameSite; the fixed one sets all three.

use actix_web::http::header::SET_COOKIE;
use actix_web::{App, HttpResponse, web};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "cookie-flags", start };

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let addr = ctx.serve_actix(move || {
        App::new()
            .app_data(web::Data::new(variant))
            .route("/api/", web::get().to(index))
            .route("/api/cart", web::get().to(cart))
    })?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "encryption.cookie-flags"))
}

/// The session cookie as each variant sets it.
fn session_cookie(variant: Variant, value: &str) -> String {
    match variant {
        // The flaw: no Secure, HttpOnly or SameSite.
        Variant::Vulnerable => format!("session={value}; Path=/"),
        Variant::Fixed => format!("session={value}; Path=/; Secure; HttpOnly; SameSite=Lax"),
    }
}

async fn index(variant: web::Data<Variant>) -> HttpResponse {
    let value = crate::tls::random_hex(16).unwrap_or_else(|_| "0".repeat(32));
    HttpResponse::Ok()
        .insert_header((SET_COOKIE, session_cookie(**variant, &value)))
        .json(json!({"service": "shop", "version": "v1"}))
}

async fn cart() -> HttpResponse {
    HttpResponse::Ok().json(json!({"items": []}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_attributes_differ() {
        let vulnerable = session_cookie(Variant::Vulnerable, "v");
        let fixed = session_cookie(Variant::Fixed, "v");
        assert_eq!(vulnerable, "session=v; Path=/");
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(fixed.contains(attribute), "{fixed}");
        }
    }
}

//! `cors-origin-bypass` (actix-web): an orders API meant to be called only by
//! its own front end, served from the same host (https://127.0.0.1, any port
//! in development). The vulnerable variant checks the Origin naively: it
//! accepts `null` (for local file:// testing), anything that *starts* with
//! `https://127.0.0.1` (meant: any port) and anything that *ends* with
//! `127.0.0.1` (meant: subdomains), with credentials. The fixed variant
//! compares the whole Origin against an exact list.

use actix_web::dev::Service;
use actix_web::http::Method;
use actix_web::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue, ORIGIN, VARY,
};
use actix_web::{App, HttpResponse, web};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "cors-origin-bypass", start };

/// The host the front end is served from.
const FRONT_END_HOST: &str = "127.0.0.1";
/// The exact origins the fixed variant trusts.
const ALLOWED_ORIGINS: &[&str] = &["https://127.0.0.1", "https://127.0.0.1:8443"];

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let addr = ctx.serve_actix(move || {
        App::new()
            .wrap_fn(move |request, service| {
                let origin = request.headers().get(ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let call = service.call(request);
                async move {
                    let mut response = call.await?;
                    let headers = response.headers_mut();
                    headers.insert(VARY, HeaderValue::from_static("Origin"));
                    if let Some(origin) = origin.filter(|o| origin_allowed(variant, o))
                        && let Ok(value) = HeaderValue::from_str(&origin)
                    {
                        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
                        headers.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
                    }
                    Ok(response)
                }
            })
            .route("/api/", web::get().to(index))
            .route("/api/", web::method(Method::OPTIONS).to(preflight))
            .route("/api/orders", web::get().to(orders))
            .route("/api/orders", web::method(Method::OPTIONS).to(preflight))
    })?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "misconfiguration.cors-origin-bypass"))
}

fn origin_allowed(variant: Variant, origin: &str) -> bool {
    match variant {
        // The flaw: `null` and prefix/suffix matches instead of equality.
        Variant::Vulnerable => {
            origin == "null"
                || origin.starts_with(&format!("https://{FRONT_END_HOST}"))
                || origin.ends_with(FRONT_END_HOST)
        }
        Variant::Fixed => ALLOWED_ORIGINS.contains(&origin),
    }
}

async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((ACCESS_CONTROL_ALLOW_METHODS, "GET, OPTIONS"))
        .insert_header((ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type"))
        .finish()
}

async fn index() -> HttpResponse {
    HttpResponse::Ok().json(json!({"service": "orders", "version": "v1"}))
}

async fn orders() -> HttpResponse {
    HttpResponse::Ok().json(json!([
        {"id": "ord_2001", "customer": "bob", "item": "headset", "quantity": 1, "total": "89.00"},
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flaw_is_the_match_not_the_list() {
        for origin in ["null", "https://127.0.0.1.mortar-probe.example", "https://mortar-probe-127.0.0.1"] {
            assert!(origin_allowed(Variant::Vulnerable, origin), "{origin}");
            assert!(!origin_allowed(Variant::Fixed, origin), "{origin}");
        }
        for variant in [Variant::Vulnerable, Variant::Fixed] {
            assert!(origin_allowed(variant, "https://127.0.0.1:8443"));
            assert!(!origin_allowed(variant, "https://mortar-cors-probe.example"));
        }
    }
}

//! `plaintext-http` (axum): the vulnerable variant serves the API on a plain
//! HTTP listener (the scan URL is http://); the fixed variant serves it over
//! HTTPS only, and its plain listener answers every request with a 308 to the
//! https:// equivalent.

use axum::extract::Request;
use axum::response::Redirect;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "plaintext-http", start };

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let addr = match variant {
        // The flaw: the API itself on the plaintext listener.
        Variant::Vulnerable => ctx.serve_axum_http(api())?,
        Variant::Fixed => {
            let tls = ctx.serve_axum(api())?;
            ctx.serve_axum_http(Router::new().fallback(move |request: Request| async move {
                let path = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
                Redirect::permanent(&format!("https://{tls}{path}"))
            }))?
        }
    };
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::Check("encryption.plaintext-http".to_owned())],
        Variant::Fixed => Vec::new(),
    };
    Ok(LabTarget {
        scenario: SCENARIO.name.to_owned(),
        variant,
        url: format!("http://{addr}/api/"),
        spec: None,
        // Plain HTTP: no CA to pass.
        scan_args: Vec::new(),
        expected,
        allowed: Vec::new(),
    })
}

fn api() -> Router {
    Router::new().route("/api/", get(index)).route("/api/shipments", get(shipments))
}

async fn index() -> Json<Value> {
    Json(json!({"service": "shipping", "version": "v1"}))
}

async fn shipments() -> Json<Value> {
    Json(json!([{"id": "shp_9", "carrier": "post", "status": "in transit"}]))
}

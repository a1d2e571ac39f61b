//! `dangerous-methods` (axum): an orders API whose vulnerable variant
//! advertises TRACE in `Allow` on OPTIONS and really answers TRACE by echoing
//! the request (headers included); the fixed variant advertises and serves
//! only GET, HEAD and OPTIONS (TRACE gets axum's 405).

use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::{ALLOW, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, get};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "dangerous-methods", start };

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let addr = ctx.serve_axum(router(variant))?;
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::At {
            check: "misconfiguration.dangerous-methods".to_owned(),
            method: "GET".to_owned(),
            path: "/api/".to_owned(),
        }],
        Variant::Fixed => Vec::new(),
    };
    Ok(LabTarget {
        scenario: SCENARIO.name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: None,
        scan_args: ctx.ca_args(),
        expected,
        allowed: Vec::new(),
    })
}

fn router(variant: Variant) -> Router {
    let route = |handler: MethodRouter| match variant {
        Variant::Vulnerable => handler.options(options_with_trace).on(MethodFilter::TRACE, echo),
        Variant::Fixed => handler.options(options),
    };
    Router::new().route("/api/", route(get(index))).route("/api/orders", route(get(orders)))
}

async fn options() -> impl IntoResponse {
    (StatusCode::NO_CONTENT, [(ALLOW, "GET, HEAD, OPTIONS")])
}

/// The flaw: TRACE advertised (and served by [`echo`]).
async fn options_with_trace() -> impl IntoResponse {
    (StatusCode::NO_CONTENT, [(ALLOW, "GET, HEAD, OPTIONS, TRACE")])
}

/// Answers TRACE as RFC 9110 describes: the request message as the body.
async fn echo(request: Request) -> impl IntoResponse {
    let mut body = format!("{} {} {:?}\r\n", request.method(), request.uri(), request.version());
    for (name, value) in request.headers() {
        body.push_str(&format!("{}: {}\r\n", name, String::from_utf8_lossy(value.as_bytes())));
    }
    body.push_str("\r\n");
    ([(CONTENT_TYPE, "message/http")], body)
}

async fn index() -> Json<Value> {
    Json(json!({"service": "orders", "version": "v1"}))
}

async fn orders() -> Json<Value> {
    Json(json!([{"id": "ord_3001", "customer": "carol", "item": "dock", "quantity": 1, "total": "129.00"}]))
}

//! `tls-early-data` (axum with rustls): the same API with TLS 1.3 early data
//! (0-RTT) accepted (vulnerable: `max_early_data_size` raised) or left at the
//! rustls default of 0 (fixed). tokio-rustls has no server-side early-data
//! path, so the lab shows "offered and accepted", not a replayed request.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::Scenario;
use crate::serve::LabContext;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "tls-early-data", start };

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let router = Router::new().route("/api/", get(|| async { Json(json!({"service": "quotes", "version": "v1"})) }));
    let addr = ctx.serve_axum_early_data(router, variant == Variant::Vulnerable)?;
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::Check("encryption.early-data".to_owned())],
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

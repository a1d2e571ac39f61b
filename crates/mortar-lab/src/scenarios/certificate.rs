//! `certificate-*` (axum): the same small API served with a flawed server
//! certificate (vulnerable) or the lab CA's valid leaf (fixed). Three
//! scenarios, one per flaw: self-signed, expired (signed by the lab CA), and
//! issued for another host name (signed by the lab CA). A weak key cannot be
//! made with rcgen on ring: that case is covered by a unit test of the check.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::tls::BadLeaf;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const SELF_SIGNED: Scenario = Scenario { name: "certificate-self-signed", start: self_signed };
pub(super) const EXPIRED: Scenario = Scenario { name: "certificate-expired", start: expired };
pub(super) const NAME_MISMATCH: Scenario = Scenario { name: "certificate-name-mismatch", start: name_mismatch };

fn self_signed(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    start(ctx, variant, &SELF_SIGNED, BadLeaf::SelfSigned)
}

fn expired(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    start(ctx, variant, &EXPIRED, BadLeaf::Expired)
}

fn name_mismatch(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    start(ctx, variant, &NAME_MISMATCH, BadLeaf::WrongName)
}

fn start(ctx: &mut LabContext, variant: Variant, scenario: &Scenario, leaf: BadLeaf) -> Result<LabTarget, LabError> {
    let addr = match variant {
        Variant::Vulnerable => ctx.serve_axum_bad_cert(api(), leaf)?,
        Variant::Fixed => ctx.serve_axum(api())?,
    };
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::Check("encryption.certificate".to_owned())],
        Variant::Fixed => Vec::new(),
    };
    Ok(LabTarget {
        scenario: scenario.name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: None,
        // The user trusts the lab CA; the flaw is in what the server presents.
        scan_args: ctx.ca_args(),
        expected,
        allowed: Vec::new(),
    })
}

fn api() -> Router {
    Router::new().route("/api/", get(index)).route("/api/devices", get(devices))
}

async fn index() -> Json<Value> {
    Json(json!({"service": "devices", "version": "v1"}))
}

async fn devices() -> Json<Value> {
    Json(json!([{"id": "dev_5", "model": "sensor-a", "firmware": "stable"}]))
}

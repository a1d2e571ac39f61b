//! `secrets-exposure` (axum): a billing service whose configuration endpoint
//! serialises its integration settings. The vulnerable variant includes the
//! AWS access key id and the Stripe live secret key (fresh random values at
//! each lab start, so no real key is ever involved); the fixed one reports
//! only whether each integration is configured.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "secrets-exposure", start };

struct Keys {
    variant: Variant,
    aws_access_key_id: String,
    stripe_secret_key: String,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let keys = Arc::new(Keys {
        variant,
        aws_access_key_id: format!("AKIA{}", crate::tls::random_hex(8)?.to_ascii_uppercase()),
        stripe_secret_key: format!("sk_live_{}", crate::tls::random_hex(12)?),
    });
    let router = Router::new().route("/api/", get(index)).route("/api/config", get(config)).with_state(keys);
    let addr = ctx.serve_axum(router)?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "data-exposure.secrets-in-response"))
}

async fn index() -> Json<Value> {
    Json(json!({"service": "billing", "links": {"config": "/api/config"}}))
}

async fn config(State(keys): State<Arc<Keys>>) -> Json<Value> {
    match keys.variant {
        // The flaw: the settings struct is serialised with its credentials.
        Variant::Vulnerable => Json(json!({
            "region": "eu-west-1",
            "aws": {"access_key_id": keys.aws_access_key_id, "bucket": "invoices"},
            "stripe": {"secret_key": keys.stripe_secret_key, "currency": "eur"},
        })),
        Variant::Fixed => Json(json!({
            "region": "eu-west-1",
            "aws": {"configured": true, "bucket": "invoices"},
            "stripe": {"configured": true, "currency": "eur"},
        })),
    }
}

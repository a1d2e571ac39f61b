//! `jwt-weak` (axum): a login-free session endpoint hands out a JWT in its
//! JSON body. The vulnerable variant signs it HS256 with the secret `secret`
//! and sets no expiry; the fixed one signs with a random 32-byte key
//! generated at lab start and sets `exp` to 15 minutes after `iat`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use super::Scenario;
use crate::serve::LabContext;
use crate::{LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "jwt-weak", start };

/// Lifetime of the fixed variant's tokens.
const FIXED_LIFETIME_SECS: u64 = 15 * 60;

struct Signer {
    variant: Variant,
    key: Vec<u8>,
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let key = match variant {
        // The flaw: the tutorial's secret.
        Variant::Vulnerable => b"secret".to_vec(),
        Variant::Fixed => crate::tls::random_hex(32)?.into_bytes(),
    };
    let router = Router::new()
        .route("/api/", get(index))
        .route("/api/session", get(session))
        .with_state(Arc::new(Signer { variant, key }));
    let addr = ctx.serve_axum(router)?;
    Ok(super::api_target(ctx, SCENARIO.name, variant, addr, "authentication.jwt-weaknesses"))
}

async fn index() -> Json<Value> {
    Json(json!({"service": "accounts", "links": {"session": "/api/session"}}))
}

async fn session(State(signer): State<Arc<Signer>>) -> Json<Value> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let claims = match signer.variant {
        Variant::Vulnerable => json!({"sub": "guest", "role": "viewer", "iat": now}),
        Variant::Fixed => json!({"sub": "guest", "role": "viewer", "iat": now, "exp": now + FIXED_LIFETIME_SECS}),
    };
    Json(json!({"token": mint(&signer.key, &claims), "token_type": "Bearer"}))
}

/// An HS256 compact JWS over `claims`.
pub(super) fn mint(key: &[u8], claims: &Value) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let input = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(claims.to_string().as_bytes()));
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

//! `mtls-path-identity` (axum with rustls, write-up 001): mandatory, strict
//! client auth, but the identity is checked once by a middleware (claims cached
//! in a request extension) and the profile handler trusts the user id in the
//! path: alice's certificate reads bob's profile. Fixed: the handler reads the
//! verified certificate at the point of use and compares it to the path id.
//! Scanned with its OpenAPI description and the lab's certificate identities.

use axum::extract::{Extension, Path, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Scenario;
use crate::serve::{LabContext, PeerCert};
use crate::tls::ClientAuth;
use crate::{Allowed, Expected, LabError, LabTarget, Variant};

pub(super) const SCENARIO: Scenario = Scenario { name: "mtls-path-identity", start };

fn description() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Profiles", "version": "1.0.0"},
        "servers": [{"url": "/api"}],
        "paths": {
            "/me": {"get": {"operationId": "me", "responses": {"200": {"description": "the caller"}}}},
            "/users/{userId}/profile": {
                "get": {
                    "operationId": "profile",
                    "parameters": [{"name": "userId", "in": "path", "required": true, "schema": {"type": "string", "example": "alice"}}],
                    "responses": {"200": {"description": "a profile"}, "403": {"description": "not yours"}}
                }
            }
        }
    })
}

fn start(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let spec_path = ctx.dir().join(format!("{}-{variant}.openapi.json", SCENARIO.name));
    crate::write_file(&spec_path, description().to_string().as_bytes(), 0o644)?;
    let addr = ctx.serve_axum_mtls(router(variant), ClientAuth::Strict)?;
    let mut scan_args = ctx.ca_args();
    scan_args.extend([
        "--config".to_owned(),
        ctx.mtls_config_path().display().to_string(),
        "--spec".to_owned(),
        spec_path.display().to_string(),
    ]);
    let expected = match variant {
        Variant::Vulnerable => vec![Expected::At {
            check: "mtls.cert-identity-not-enforced".to_owned(),
            method: "GET".to_owned(),
            path: "/api/users/{userId}/profile".to_owned(),
        }],
        Variant::Fixed => Vec::new(),
    };
    Ok(LabTarget {
        scenario: SCENARIO.name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: Some(spec_path.display().to_string()),
        scan_args,
        expected,
        allowed: vec![Allowed {
            check: "inventory.unversioned-api".to_owned(),
            reason: "its description's paths carry no version (informational)".to_owned(),
        }],
    })
}

/// What the middleware decided once: the caller's user id.
#[derive(Debug, Clone)]
struct Claims(String);

/// The user id of a lab client certificate: its CN up to the first dot.
fn user_of(peer: &PeerCert) -> Option<String> {
    let der = peer.0.as_ref()?;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
    Some(cn.split('.').next().unwrap_or(cn).to_owned())
}

async fn authenticate(Extension(peer): Extension<PeerCert>, mut request: Request, next: Next) -> Response {
    match user_of(&peer) {
        Some(user) => {
            request.extensions_mut().insert(Claims(user));
            next.run(request).await
        }
        None => (StatusCode::UNAUTHORIZED, Json(json!({"error": "client certificate required"}))).into_response(),
    }
}

fn profile_of(user: &str) -> Option<Value> {
    let (name, tier) = match user {
        "alice" => ("Alice Liddell", "gold"),
        "bob" => ("Bob Builder", "silver"),
        "carol" => ("Carol Danvers", "bronze"),
        "old" => ("Old Timer", "none"),
        _ => return None,
    };
    Some(json!({"userId": user, "display_name": name, "tier": tier}))
}

fn router(variant: Variant) -> Router {
    let me = get(|Extension(Claims(user)): Extension<Claims>| async move {
        Json(json!({"userId": user, "links": {"profile": format!("/api/users/{user}/profile")}}))
    });
    let profile = match variant {
        // The flaw: the middleware's claims say "authenticated", the handler serves any path id.
        Variant::Vulnerable => get(|Path(id): Path<String>, Extension(_claims): Extension<Claims>| async move {
            profile_of(&id).map(Json).ok_or(StatusCode::NOT_FOUND)
        }),
        // The fix: the verified certificate, read where the object is chosen.
        Variant::Fixed => get(|Path(id): Path<String>, Extension(peer): Extension<PeerCert>| async move {
            if user_of(&peer).as_deref() != Some(id.as_str()) {
                return Err(StatusCode::FORBIDDEN);
            }
            profile_of(&id).map(Json).ok_or(StatusCode::NOT_FOUND)
        }),
    };
    Router::new()
        .route(
            "/api/",
            get(|Extension(Claims(user)): Extension<Claims>| async move {
                Json(json!({"service": "profiles", "client": user}))
            }),
        )
        .route("/api/me", me)
        .route("/api/users/{id}/profile", profile)
        .layer(axum::middleware::from_fn(authenticate))
}

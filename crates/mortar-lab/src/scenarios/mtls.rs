//! `mtls-*` (axum with rustls, write-ups 000 and 002): a small ledger API whose
//! client identity comes from the client certificate. Each vulnerable variant
//! has one flaw: client auth optional with the routes reachable without a
//! certificate; a verifier that accepts any certificate; expiry not checked;
//! no CRL (revoked certificate accepted); identity taken from a forwarded
//! header. The fixed variant is the same API behind mandatory client auth
//! rooted at the lab CA only with the CRL checked, identity read from the
//! verified connection at the point of use, forwarded headers ignored.
//! Identities (alice, bob, carol revoked, old expired) come from the lab's
//! `mtls.toml`; certificates are generated at start-up.

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::Scenario;
use crate::serve::{LabContext, PeerCert};
use crate::tls::ClientAuth;
use crate::{Expected, LabError, LabTarget, Variant};

pub(super) const OPTIONAL: Scenario = Scenario { name: "mtls-optional", start: optional };
pub(super) const ANY_CERT: Scenario = Scenario { name: "mtls-any-cert", start: any_cert };
pub(super) const EXPIRY: Scenario = Scenario { name: "mtls-expiry", start: expiry };
pub(super) const REVOCATION: Scenario = Scenario { name: "mtls-revocation", start: revocation };
pub(super) const FORWARDED: Scenario = Scenario { name: "mtls-forwarded-header", start: forwarded };

fn optional(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let app = App { refuse_anonymous: false, trust_forwarded: false };
    start(ctx, variant, &OPTIONAL, ClientAuth::Optional, app, &["mtls.optional-client-auth"])
}

fn any_cert(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    // Accepting any certificate accepts the revoked one too.
    let checks = ["mtls.forged-client-cert", "mtls.revoked-cert-accepted"];
    start(ctx, variant, &ANY_CERT, ClientAuth::AcceptAny, App::STRICT, &checks)
}

fn expiry(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    start(ctx, variant, &EXPIRY, ClientAuth::NoExpiry, App::STRICT, &["mtls.forged-client-cert"])
}

fn revocation(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    start(ctx, variant, &REVOCATION, ClientAuth::NoRevocation, App::STRICT, &["mtls.revoked-cert-accepted"])
}

fn forwarded(ctx: &mut LabContext, variant: Variant) -> Result<LabTarget, LabError> {
    let app = App { refuse_anonymous: true, trust_forwarded: true };
    start(ctx, variant, &FORWARDED, ClientAuth::Strict, app, &["mtls.proxy-header-trust"])
}

fn start(
    ctx: &mut LabContext,
    variant: Variant,
    scenario: &Scenario,
    mode: ClientAuth,
    app: App,
    checks: &[&str],
) -> Result<LabTarget, LabError> {
    let (mode, app, expected) = match variant {
        Variant::Vulnerable => (mode, app, checks.iter().map(|c| Expected::Check((*c).to_owned())).collect()),
        Variant::Fixed => (ClientAuth::Strict, App::STRICT, Vec::new()),
    };
    let addr = ctx.serve_axum_mtls(api(app), mode)?;
    let mut scan_args = ctx.ca_args();
    scan_args.push("--config".to_owned());
    scan_args.push(ctx.mtls_config_path().display().to_string());
    Ok(LabTarget {
        scenario: scenario.name.to_owned(),
        variant,
        url: format!("https://{addr}/api/"),
        spec: None,
        scan_args,
        expected,
        allowed: Vec::new(),
    })
}

/// How the application treats the client identity.
#[derive(Debug, Clone, Copy)]
struct App {
    /// Refuse requests without an identity (the vulnerable "optional" app forgets).
    refuse_anonymous: bool,
    /// Believe `X-SSL-Client-S-DN` / `X-Forwarded-Client-Cert` sent by the client.
    trust_forwarded: bool,
}

impl App {
    const STRICT: App = App { refuse_anonymous: true, trust_forwarded: false };
}

fn api(app: App) -> Router {
    Router::new()
        .route("/api/", get(index))
        .route("/api/me", get(me))
        .route("/api/accounts", get(accounts))
        .with_state(app)
}

/// The CN of a DN written as text (`CN=x,O=y` or `Subject="CN=x, O=y"`).
fn cn_of_text(text: &str) -> Option<String> {
    let start = text.find("CN=")? + 3;
    let rest = &text[start..];
    let end = rest.find([',', '/', '"', ';']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_owned()).filter(|s| !s.is_empty())
}

/// The client identity as the application sees it, read at the point of use.
fn identity(app: App, peer: &PeerCert, headers: &HeaderMap) -> Option<String> {
    if app.trust_forwarded {
        // The flaw: a "proxy" header believed from any client.
        for name in ["x-ssl-client-s-dn", "x-forwarded-client-cert"] {
            if let Some(cn) = headers.get(name).and_then(|v| v.to_str().ok()).and_then(cn_of_text) {
                return Some(cn);
            }
        }
    }
    let der = peer.0.as_ref()?;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?.to_owned();
    Some(cn)
}

fn who(app: App, peer: &PeerCert, headers: &HeaderMap) -> Result<String, Box<Response>> {
    match identity(app, peer, headers) {
        Some(cn) => Ok(cn),
        None if app.refuse_anonymous => Err(Box::new(
            (StatusCode::UNAUTHORIZED, Json(json!({"error": "client certificate required"}))).into_response(),
        )),
        None => Ok("anonymous".to_owned()),
    }
}

async fn index(State(app): State<App>, Extension(peer): Extension<PeerCert>, headers: HeaderMap) -> Response {
    match who(app, &peer, &headers) {
        // Like many APIs, the root greets the caller: the answer depends on the identity.
        Ok(cn) => Json(json!({"service": "ledger", "version": "v1", "client": cn})).into_response(),
        Err(refused) => *refused,
    }
}

async fn me(State(app): State<App>, Extension(peer): Extension<PeerCert>, headers: HeaderMap) -> Response {
    match who(app, &peer, &headers) {
        Ok(cn) => Json(json!({"subject": cn, "role": "member"})).into_response(),
        Err(refused) => *refused,
    }
}

async fn accounts(State(app): State<App>, Extension(peer): Extension<PeerCert>, headers: HeaderMap) -> Response {
    match who(app, &peer, &headers) {
        Ok(cn) => {
            let id = cn.split('.').next().unwrap_or("x").to_owned();
            Json(json!([{"id": format!("acct-{id}-1"), "owner": cn, "balance": 1200}])).into_response()
        }
        Err(refused) => *refused,
    }
}

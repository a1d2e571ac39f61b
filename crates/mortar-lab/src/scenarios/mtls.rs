//! `mtls-*` (actix-web with rustls, write-ups 000 and 002): a small ledger API whose
//! client identity comes from the client certificate. Each vulnerable variant
//! has one flaw: client auth optional with the routes reachable without a
//! certificate; a verifier that accepts any certificate; expiry not checked;
//! no CRL (revoked certificate accepted); identity taken from a forwarded
//! header. The fixed variant is the same API behind mandatory client auth
//! rooted at the lab CA only with the CRL checked, identity read from the
//! verified connection at the point of use, forwarded headers ignored.
//! Identities (alice, bob, carol revoked, old expired) come from the lab's
//! `mtls.toml`; certificates are generated at start-up.

use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, HttpResponse, web};
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
    let addr = ctx.serve_actix_mtls(move || api(app), mode)?;
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

fn api(
    app: App,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    actix_web::App::new()
        .app_data(web::Data::new(app))
        .route("/api/", web::get().to(index))
        .route("/api/me", web::get().to(me))
        .route("/api/accounts", web::get().to(accounts))
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

/// The caller, or the 401 answer when the app refuses anonymous clients.
fn who(req: &HttpRequest) -> Result<String, Box<HttpResponse>> {
    let app = req.app_data::<web::Data<App>>().map(|a| *a.get_ref()).unwrap_or(App::STRICT);
    let peer = req.conn_data::<PeerCert>().cloned().unwrap_or_default();
    match identity(app, &peer, req.headers()) {
        Some(cn) => Ok(cn),
        None if app.refuse_anonymous => {
            Err(Box::new(HttpResponse::Unauthorized().json(json!({"error": "client certificate required"}))))
        }
        None => Ok("anonymous".to_owned()),
    }
}

async fn index(req: HttpRequest) -> HttpResponse {
    match who(&req) {
        // Like many APIs, the root greets the caller: the answer depends on the identity.
        Ok(cn) => HttpResponse::Ok().json(json!({"service": "ledger", "version": "v1", "client": cn})),
        Err(refused) => *refused,
    }
}

async fn me(req: HttpRequest) -> HttpResponse {
    match who(&req) {
        Ok(cn) => HttpResponse::Ok().json(json!({"subject": cn, "role": "member"})),
        Err(refused) => *refused,
    }
}

async fn accounts(req: HttpRequest) -> HttpResponse {
    match who(&req) {
        Ok(cn) => {
            let id = cn.split('.').next().unwrap_or("x").to_owned();
            HttpResponse::Ok().json(json!([{"id": format!("acct-{id}-1"), "owner": cn, "balance": 1200}]))
        }
        Err(refused) => *refused,
    }
}

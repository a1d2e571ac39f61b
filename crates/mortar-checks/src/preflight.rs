//! Before the scan: does the target answer at all, and is each identity accepted?

use mortar_engine::{Engine, EngineError, Origin, Request};
use mortar_model::{Identity, Target};
use std::sync::Arc;

/// The pre-flight verdict on one identity (or on anonymous access).
#[derive(Debug, Clone)]
pub struct IdentityCheck {
    /// Identity name, `anonymous` for the request without credentials.
    pub name: String,
    /// Whether it got a response other than 401/403 (or, for anonymous, any response).
    pub accepted: bool,
    /// What was seen: `HTTP 200`, or the transport error.
    pub detail: String,
}

/// What the pre-flight learned.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// Whether any HTTP response at all came back.
    pub any_response: bool,
    /// Anonymous first, then each identity in order.
    pub checks: Vec<IdentityCheck>,
}

impl Preflight {
    /// The identities that were accepted, in the order given.
    pub fn accepted(&self, identities: &[Arc<Identity>]) -> Vec<Arc<Identity>> {
        identities.iter().filter(|i| self.checks.iter().any(|c| c.name == i.name && c.accepted)).cloned().collect()
    }
}

/// The tag pre-flight requests carry in per-check counters.
pub const PREFLIGHT_TAG: &str = "preflight";

/// Sends one GET of the base path anonymously and one per identity.
pub async fn preflight(engine: &Engine, target: &Target, identities: &[Arc<Identity>]) -> Preflight {
    let origin = Origin::of(target);
    let mut checks = Vec::new();
    let mut any_response = false;
    let candidates = std::iter::once(None).chain(identities.iter().cloned().map(Some));
    for identity in candidates {
        let name = identity.as_ref().map(|i| i.name.clone()).unwrap_or_else(|| "anonymous".into());
        if let Some(id) = &identity
            && let Err(e) = crate::context::session::login(engine, &origin, id).await
        {
            checks.push(IdentityCheck { name, accepted: false, detail: format!("login failed: {e}") });
            continue;
        }
        // An identity that only describes a signing scheme (no secret, for
        // probing from a captured request) carries no credential to check.
        if let Some(id) = &identity
            && id.signing.as_ref().is_some_and(|s| s.signer.is_none())
            && id.headers.is_empty()
            && id.client_cert.is_none()
            && id.login.is_none()
        {
            checks.push(IdentityCheck { name, accepted: true, detail: "signing scheme only (no secret)".into() });
            continue;
        }
        let request = Request::get(&origin, target.base_path.clone()).identity(identity.clone()).tag(PREFLIGHT_TAG);
        let check = match engine.send(request).await {
            Ok(ex) => {
                any_response = true;
                let status = ex.response.status;
                // A credential that is refused on the API's own root is not usable for the scan.
                let accepted = identity.is_none() || !matches!(status, 401 | 403);
                IdentityCheck { name, accepted, detail: format!("HTTP {status}") }
            }
            Err(e) => IdentityCheck { name, accepted: false, detail: describe(&e) },
        };
        checks.push(check);
    }
    Preflight { any_response, checks }
}

fn describe(e: &EngineError) -> String {
    e.chain()
}

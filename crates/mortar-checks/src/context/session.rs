//! Login recipes: obtaining a token before the scan and refreshing it when a
//! liveness request shows the session was lost (not on every expected 401).

use mortar_engine::{Engine, Origin, Request};
use mortar_model::{Identity, RecipeRequest, Secret, TokenSource};

/// The tag login and liveness requests carry in per-check counters.
pub const SESSION_TAG: &str = "session";

/// Why a login did not produce a token. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The login request got no answer.
    #[error("the login request got no response: {0}")]
    NoResponse(String),
    /// The login was refused.
    #[error("the login request answered HTTP {0}")]
    Refused(u16),
    /// The answer had no token where the recipe says.
    #[error("no token in the login response at {0}")]
    NoToken(String),
}

pub(super) fn recipe_request(origin: &Origin, recipe: &RecipeRequest) -> Request {
    Request::new(recipe.method.clone(), origin, recipe.path.clone()).tag(SESSION_TAG)
}

/// Logs `identity` in and stores the token in its session.
pub async fn login(engine: &Engine, origin: &Origin, identity: &Identity) -> Result<(), LoginError> {
    let Some(recipe) = &identity.login else { return Ok(()) };
    let mut request = recipe_request(origin, &recipe.request).body(recipe.body.expose().to_vec());
    for h in &recipe.headers {
        request = request.header(h.name.clone(), h.value.expose().to_vec());
    }
    let exchange = engine.send(request).await.map_err(|e| LoginError::NoResponse(e.chain()))?;
    let response = &exchange.response;
    if !(200..300).contains(&response.status) {
        return Err(LoginError::Refused(response.status));
    }
    let token = match &recipe.token {
        TokenSource::JsonPointer(pointer) => serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|v| match v.pointer(pointer) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| LoginError::NoToken(format!("JSON pointer {pointer}")))?,
        TokenSource::Header(name) => {
            response.header(name).ok_or_else(|| LoginError::NoToken(format!("header {name}")))?
        }
        TokenSource::Cookie(name) => response
            .header_all("set-cookie")
            .iter()
            .find_map(|c| {
                let pair = c.split(';').next()?;
                let (n, v) = pair.split_once('=')?;
                (n.trim() == name).then(|| v.trim().to_string())
            })
            .ok_or_else(|| LoginError::NoToken(format!("cookie {name}")))?,
    };
    if token.is_empty() {
        return Err(LoginError::NoToken("an empty value".into()));
    }
    identity.session.set_token(Secret::new(token));
    Ok(())
}

/// Whether the identity's session still works, by its liveness request.
/// `None` when the recipe has no liveness request.
pub async fn alive(engine: &Engine, origin: &Origin, identity: &std::sync::Arc<Identity>) -> Option<bool> {
    let liveness = identity.login.as_ref()?.liveness.as_ref()?;
    let request = recipe_request(origin, liveness).identity(Some(identity.clone()));
    match engine.send(request).await {
        Ok(ex) => Some((200..300).contains(&ex.response.status)),
        Err(_) => None,
    }
}

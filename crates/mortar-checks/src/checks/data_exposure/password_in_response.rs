//! `data-exposure.password-in-response`: an API that hands a password back
//! (OWASP API3:2023). A password returned as it was given is stored or
//! handled in plain text, and every client, log and cache on the way sees it.
//!
//! The scan makes an account of its own through the sign-up operation
//! ([`crate::probes::account`]) with a password it made up for it, unique to
//! the scan, then signs that account in through each sign-in operation that
//! takes a JSON body. Reported where an accepted answer carries the password
//! byte for byte: a value no one else knows cannot be there by chance, so
//! one answer is the proof. Active profile (it creates an account); one
//! sign-up and at most two sign-ins.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::account::{Account, accepted, made_up_password, send_filled, sign_ins, sign_up_or_skip};
use crate::probes::spec::{defined_at, described, no_description};
use mortar_engine::{Exchange, Request};
use mortar_model::{Category, CheckInfo, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "data-exposure.password-in-response",
        category: Category::DataExposure,
        severity: Severity::High,
        profile: Profile::Active,
        title: "Password returned in an API answer",
        description: "Creates an account through the sign-up operation (a POST whose JSON body names a user and \
            holds a secret) with made-up, unique names and a password made up for the scan, then signs it in \
            through each sign-in operation with a JSON body (at most two). Reported where an accepted answer \
            carries that password as it was sent: the API stores or handles passwords in plain text and hands \
            them to every client, log and cache on the way.",
        remediation: Remediation {
            summary: "Never return a password: store only a slow salted hash (argon2id, scrypt or bcrypt), and \
                answer sign-up and sign-in with a response type that has no password field at all.",
            actix_web: "Hash with the `argon2` crate (`Argon2::default().hash_password(pw, &salt)`) before \
                storing, and answer with a dedicated `#[derive(Serialize)] struct UserView { id, email, name }` \
                (or `#[serde(skip_serializing)]` on the hash) instead of serializing the stored user.",
            axum: "Hash with `argon2` (`PasswordHasher::hash_password`) in the handler, keep the hash out of the \
                type you return (`Json(UserView::from(user))` with no password field), and verify with \
                `PasswordVerifier::verify_password` at sign-in.",
        },
        references: References { owasp_api: &["API3:2023"], cwe: &["CWE-256", "CWE-319", "CWE-200"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Whether `needle` occurs in `body`.
fn carries(body: &[u8], needle: &str) -> bool {
    !needle.is_empty() && body.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn observe(
    ctx: &ScanContext,
    reporter: &Reporter,
    op: &ScanOperation,
    what: &str,
    request: &Request,
    exchange: &Exchange,
) {
    reporter.observe(Observation::confirmed(
        op.endpoint.clone(),
        format!(
            "{} {} ({}, defined at {}) answered HTTP {} with the password the scan had just given its own new \
             account, as it was sent. The password is stored or handled in plain text and handed back to the \
             caller. (It is the scan's made-up password of a throwaway account, not a real user's.)",
            op.endpoint.method,
            op.endpoint.path,
            what,
            defined_at(op),
            exchange.response.status
        ),
        vec![ctx.evidence(exchange, format!("The {what} answer carries the password sent."))],
        ctx.curl(request),
    ));
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    let id = CHECK.info.id;
    let register = match sign_up_or_skip(&ctx) {
        Ok(op) => op,
        Err(verdict) => return verdict,
    };
    let password = made_up_password();
    let account = Account::new();
    let (request, created) = match send_filled(&ctx, id, register, &account, &password).await {
        Ok(sent) => sent,
        Err(e) => return CheckVerdict::Inconclusive(format!("sign-up not answered: {}", e.chain())),
    };
    if !accepted(&created) {
        return CheckVerdict::Ran(format!(
            "{} {} refused a new account (HTTP {}); nothing signed in",
            register.endpoint.method, register.endpoint.path, created.response.status
        ));
    }
    let mut found = 0;
    if carries(&created.response.body, &password) {
        observe(&ctx, &reporter, register, "sign-up", &request, &created);
        found += 1;
    }
    let sign_in_ops = sign_ins(&ctx);
    for op in &sign_in_ops {
        let Ok((request, answer)) = send_filled(&ctx, id, op, &account, &password).await else { continue };
        if accepted(&answer) && carries(&answer.response.body, &password) {
            observe(&ctx, &reporter, op, "sign-in", &request, &answer);
            found += 1;
        }
    }
    CheckVerdict::Ran(format!(
        "an account created through {} {} and signed in through {} operation(s); {found} answer(s) carried its password",
        register.endpoint.method,
        register.endpoint.path,
        sign_in_ops.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_found_only_as_sent() {
        let password = made_up_password();
        assert!(carries(format!(r#"{{"password":"{password}"}}"#).as_bytes(), &password));
        assert!(!carries(br#"{"password":"$argon2id$v=19$m=19456"}"#, &password));
        assert!(!carries(b"anything", ""));
        assert!(password.len() >= 12);
    }
}

//! Accounts the scan makes for itself: a sign-up operation (a POST whose
//! JSON body names a user and holds a secret) sent with made-up, unique
//! account names and a password the scan chose, then the API's sign-in
//! operations sent that account. What the API does with a password it was
//! given is then visible end to end (echoed, stored in plain text, accepted
//! however weak), without any credential of a real user.

use crate::context::{ScanContext, ScanOperation};
use crate::probes::inject::{Input, Place, inputs, with_input};
use crate::probes::sign_in::{holds_email, kind, secret_field, user_field};
use mortar_engine::{EngineError, Exchange, Request};

/// The made-up account: the values its user inputs are given.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// A user name no account of the API has (letters and digits).
    pub name: String,
    /// An e-mail address at the reserved example.com domain with the same tag.
    pub email: String,
}

impl Account {
    /// A new account, named by a tag unique to this process and call.
    pub(crate) fn new() -> Account {
        let tag = unique_tag("mrtracct");
        Account { email: format!("{tag}@example.com"), name: tag }
    }

    /// The value of this account for a user input: its e-mail address where
    /// the input holds one (by name or by its example), else its name.
    fn value_for(&self, input: &Input) -> &str {
        if holds_email(&input.name, &input.original) { &self.email } else { &self.name }
    }
}

/// `prefix` and a tag no value of the API holds yet: unique to this process
/// and call (a counter), and to this run (the clock).
pub(crate) fn unique_tag(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}{:x}{}", nanos ^ 0x5a5a_5a5a, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A password no one else has, different on every call: mixed classes and
/// long enough for any policy.
pub(crate) fn made_up_password() -> String {
    format!("Mq7!{}Pw", unique_tag(""))
}

/// Whether a JSON body input names the account (not its secret).
fn names_account(input: &Input) -> bool {
    input.place == Place::Body && user_field(&input.name) && !secret_field(&input.name)
}

/// Whether `op` takes an account in its JSON body: a user input and a secret input.
fn takes_account(op: &ScanOperation) -> bool {
    let all = inputs(op);
    all.iter().any(names_account) && all.iter().any(|i| i.place == Place::Body && secret_field(&i.name))
}

/// `op` with every user input set to the account and every secret to `password`.
fn filled(op: &ScanOperation, account: &Account, password: &str) -> ScanOperation {
    let mut out = op.clone();
    for input in inputs(op).into_iter().filter(|i| i.place == Place::Body) {
        if secret_field(&input.name) {
            out = with_input(&out, &input, password);
        } else if names_account(&input) {
            out = with_input(&out, &input, account.value_for(&input));
        }
    }
    out
}

/// The sign-up operation: a POST, not on one object, not a sign-in, token,
/// reset or search, whose JSON body names an account and holds a secret;
/// register/sign-up paths before other account-like ones.
pub(crate) fn sign_up(ctx: &ScanContext) -> Option<&ScanOperation> {
    let held: Vec<_> = ctx.hold.held().iter().map(|h| h.endpoint.clone()).collect();
    let rank = |op: &ScanOperation| {
        let path = op.endpoint.path.to_ascii_lowercase();
        if ["register", "signup", "sign-up", "sign_up"].iter().any(|w| path.contains(w)) {
            0
        } else if ["user", "account", "member", "customer"].iter().any(|w| path.contains(w)) {
            1
        } else {
            2
        }
    };
    ctx.operations
        .iter()
        .filter(|op| op.endpoint.method == "POST" && !held.contains(&op.endpoint))
        .filter(|op| !op.endpoint.path.trim_end_matches('/').ends_with('}') && kind(op).is_none())
        .filter(|op| rank(op) < 2 && takes_account(op))
        .min_by_key(|op| rank(op))
}

/// [`sign_up`], or the verdict of a check that needs one.
pub(crate) fn sign_up_or_skip(ctx: &ScanContext) -> Result<&ScanOperation, crate::check::CheckVerdict> {
    sign_up(ctx).ok_or_else(|| {
        crate::check::CheckVerdict::Skipped(
            "no sign-up operation (a POST whose JSON body names a user and holds a secret)".into(),
        )
    })
}

/// The sign-in operations that take an account in a JSON body (at most 2).
pub(crate) fn sign_ins(ctx: &ScanContext) -> Vec<&ScanOperation> {
    ctx.operations
        .iter()
        .filter(|op| op.endpoint.method == "POST" && matches!(kind(op), Some("sign-in" | "token")))
        .filter(|op| takes_account(op))
        .take(2)
        .collect()
}

/// Sends `op` filled with `account` and `password`, without credentials (the
/// account is a stranger's). The request is returned for the report.
pub(crate) async fn send_filled(
    ctx: &ScanContext,
    check: &'static str,
    op: &ScanOperation,
    account: &Account,
    password: &str,
) -> Result<(Request, Exchange), EngineError> {
    let aimed = filled(op, account, password);
    let mut request = Request::new(&op.endpoint.method, &ctx.origin, aimed.target.clone());
    request.headers = op.headers.clone();
    request.body = aimed.body.unwrap_or_default();
    request.options.no_retry = true;
    let exchange = ctx.send(check, Some(&op.endpoint), request.clone()).await?;
    Ok((request, exchange))
}

/// Whether an answer accepted the request: 2xx and no refusal in its body.
pub(crate) fn accepted(exchange: &Exchange) -> bool {
    (200..300).contains(&exchange.response.status) && !crate::probes::json::reads_as_refusal(&exchange.response.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(path: &str, body: &str) -> ScanOperation {
        let mut op = ScanOperation::bare("POST", path);
        op.body = Some(body.as_bytes().to_vec());
        op
    }

    #[test]
    fn accounts_fill_user_and_secret_inputs_at_any_depth() {
        let account = Account::new();
        let register =
            op("/api/users", r#"{"user": {"username": "u", "email": "e@x.io", "password": "p"}, "bio": "b"}"#);
        assert!(takes_account(&register));
        let body: serde_json::Value =
            serde_json::from_slice(filled(&register, &account, "Pw-1").body.as_deref().unwrap()).unwrap();
        assert_eq!(body["user"]["username"], account.name.as_str());
        assert_eq!(body["user"]["email"], account.email.as_str());
        assert_eq!(body["user"]["password"], "Pw-1");
        assert_eq!(body["bio"], "b");
        assert!(!takes_account(&op("/api/items", r#"{"name": "x", "price": 3}"#)), "no secret");
        assert_ne!(Account::new().name, Account::new().name);
    }
}

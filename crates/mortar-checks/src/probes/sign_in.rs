//! Which operations are credential operations (sign-in, password reset,
//! one-time codes, token issue, search) by the words of their path and
//! operationId, and which body fields name the user and hold the secret.
//! Shared by the rate-limit and user-enumeration checks.

use crate::context::ScanOperation;
use crate::probes::inject::{Input, Place, inputs, with_input};

/// Path or operationId words of operations worth limiting, and what they are.
const SENSITIVE: &[(&str, &str)] = &[
    ("login", "sign-in"),
    ("signin", "sign-in"),
    ("logon", "sign-in"),
    ("authenticate", "sign-in"),
    ("token", "token"),
    ("password", "password reset"),
    ("forgot", "password reset"),
    ("reset", "password reset"),
    ("otp", "one-time code"),
    ("totp", "one-time code"),
    ("mfa", "one-time code"),
    ("2fa", "one-time code"),
    ("search", "search"),
];

/// What kind of sensitive operation it is, if any.
pub(crate) fn kind(op: &ScanOperation) -> Option<&'static str> {
    let mut words: Vec<String> = op
        .endpoint
        .path
        .split(['/', '-', '_', '.'])
        .filter(|s| !s.starts_with('{'))
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if let Some(id) = &op.described.operation_id {
        words.push(id.to_ascii_lowercase());
    }
    // `sign-in` and `log-in` split into two words; join neighbours too.
    let joined: Vec<String> = words.windows(2).map(|w| format!("{}{}", w[0], w[1])).collect();
    words.extend(joined);
    let found = SENSITIVE.iter().find(|(word, _)| words.iter().any(|w| w == word || w.starts_with(word)));
    // A bare `reset` fetched by GET restores data (`GET /reset-database`);
    // a password reset is requested with a body.
    if found.is_some_and(|(word, _)| *word == "reset") && op.endpoint.method == "GET" {
        return None;
    }
    found.map(|(_, k)| *k)
}

/// Body fields that name the user, and those that hold the secret.
pub(crate) fn user_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["user", "email", "login", "account", "phone", "name"].iter().any(|k| n.contains(k))
}

pub(crate) fn secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["pass", "secret", "otp", "code", "pin", "token"].iter().any(|k| n.contains(k))
}

/// Whether an input named `name` with value `value` holds an e-mail address
/// (by its value, or by its name when the example is not one).
pub(crate) fn holds_email(name: &str, value: &str) -> bool {
    value.contains('@') || name.to_ascii_lowercase().contains("mail")
}

/// The value that names a user who does not exist, shaped like `input`'s
/// own (a number, an e-mail address or a name).
fn nobody(input: &Input, marker: &str) -> String {
    if input.numeric {
        "987654321".to_string()
    } else if holds_email(&input.name, &input.original) {
        // example.com is reserved (RFC 2606) yet passes e-mail validators that refuse `.invalid`.
        format!("mortar-nobody-{marker}@example.com")
    } else {
        format!("mortar-nobody-{marker}")
    }
}

/// A wrong secret shaped like `input`'s own: digits for a numeric code.
fn wrong_secret(input: &Input, marker: &str) -> String {
    if input.numeric || (!input.original.is_empty() && input.original.bytes().all(|b| b.is_ascii_digit())) {
        "0".repeat(input.original.len().clamp(4, 8))
    } else {
        format!("wrong-{marker}")
    }
}

/// `op` aimed at a user that does not exist: every input that names a user
/// (a path or query parameter, or a JSON body property at any depth) names a
/// made-up one, and every secret input holds a wrong value. `None` when no
/// input names a user: a burst or a guess would then be aimed at whoever the
/// example names, possibly a real account.
pub(crate) fn aimed_at_nobody(op: &ScanOperation, marker: &str) -> Option<ScanOperation> {
    let mut aimed = op.clone();
    let mut named = false;
    for input in inputs(op) {
        let value = if secret_field(&input.name) {
            wrong_secret(&input, marker)
        } else if names_user(&input) {
            named = true;
            nobody(&input, marker)
        } else {
            continue;
        };
        aimed = with_input(&aimed, &input, &value);
    }
    named.then_some(aimed)
}

/// Whether an input names a user: any body field [`user_field`] accepts; a
/// path or query parameter only by a clearer name (`{filename}` is no user).
fn names_user(input: &Input) -> bool {
    if input.place == Place::Body {
        return user_field(&input.name);
    }
    let n = input.name.to_ascii_lowercase();
    ["user", "email", "login", "account", "phone"].iter().any(|k| n.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_operations_are_named_by_path_words_and_ids() {
        assert_eq!(kind(&ScanOperation::bare("POST", "/api/auth/login")), Some("sign-in"));
        assert_eq!(kind(&ScanOperation::bare("POST", "/api/sign-in")), Some("sign-in"));
        assert_eq!(kind(&ScanOperation::bare("POST", "/api/password/forgot")), Some("password reset"));
        assert_eq!(kind(&ScanOperation::bare("POST", "/auth/reset")), Some("password reset"));
        assert_eq!(kind(&ScanOperation::bare("GET", "/maintenance/reset-database")), None);
        assert_eq!(kind(&ScanOperation::bare("GET", "/api/products/search")), Some("search"));
        assert_eq!(kind(&ScanOperation::bare("GET", "/api/invoices/{login}")), None);
        assert_eq!(kind(&ScanOperation::bare("GET", "/api/invoices")), None);
    }

    fn op(method: &str, template: &str, target: &str, body: Option<&str>) -> ScanOperation {
        let mut op = ScanOperation::bare(method, template);
        op.target = target.into();
        op.body = body.map(|b| b.as_bytes().to_vec());
        op
    }

    #[test]
    fn credential_operations_are_aimed_at_a_user_that_does_not_exist() {
        let form = op("POST", "/login", "/login", Some(r#"{"username": "alice", "password": "pw", "remember": true}"#));
        let aimed = aimed_at_nobody(&form, "ab").expect("names a user");
        let body: serde_json::Value = serde_json::from_slice(aimed.body.as_deref().unwrap_or_default()).unwrap();
        assert_eq!(body["username"], "mortar-nobody-ab");
        assert_eq!(body["password"], "wrong-ab");
        assert_eq!(body["remember"], true);

        // A wrapped body is aimed inside its wrapper, not replaced by a string.
        let wrapped =
            op("POST", "/api/login", "/api/login", Some(r#"{"user": {"email": "a@b.io", "password": "pw"}}"#));
        let body: serde_json::Value =
            serde_json::from_slice(aimed_at_nobody(&wrapped, "ab").unwrap().body.as_deref().unwrap()).unwrap();
        assert_eq!(body["user"]["email"], "mortar-nobody-ab@example.com");
        assert_eq!(body["user"]["password"], "wrong-ab");

        // The user in the path and a numeric code in the query.
        let otp = op("POST", "/v1/user/{user_id}/validate-otp", "/v1/user/1/validate-otp?token=123456", None);
        let aimed = aimed_at_nobody(&otp, "ab").expect("the path names a user");
        assert_eq!(aimed.target, "/v1/user/987654321/validate-otp?token=000000");
        assert!(aimed.body.is_none());

        assert!(aimed_at_nobody(&op("POST", "/search", "/search", Some(r#"{"query": "x"}"#)), "ab").is_none());
        let file = op("GET", "/files/{filename}/token", "/files/a.txt/token", None);
        assert!(aimed_at_nobody(&file, "ab").is_none(), "a file name names no user");
    }
}

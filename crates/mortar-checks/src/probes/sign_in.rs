//! Which operations are credential operations (sign-in, password reset,
//! one-time codes, token issue, search) by the words of their path and
//! operationId, and which body fields name the user and hold the secret.
//! Shared by the rate-limit and user-enumeration checks.

use crate::context::ScanOperation;

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
}

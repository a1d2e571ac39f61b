//! Operations that can destroy the state a scan depends on (its identities,
//! the data the checks compare), recognised by method and by name, so that
//! the scan holds them back to its last phase (active profile) or does not
//! call them at all (a GET named like one, outside the active profile).

use super::ScanOperation;

/// Name words that announce a destructive operation, matched as a whole word
/// or as a word's beginning (`deletes`, `revoked`, `logout`).
const DESTRUCTIVE_STEMS: &[&str] = &[
    "delete",
    "remove",
    "revoke",
    "reset",
    "logout",
    "logoff",
    "signout",
    "purge",
    "destroy",
    "truncate",
    "deactivate",
    "disable",
    "suspend",
    "terminate",
    "unregister",
    "unsubscribe",
    "password",
    "passwd",
    "createdb",
    "initdb",
    "dropdb",
    "resetdb",
    "cleardb",
];

/// Short words matched only whole (as a prefix they would catch `lockers`,
/// `seedling`, `initial`).
const DESTRUCTIVE_WORDS: &[&str] = &["drop", "init", "seed", "wipe", "lock", "ban", "block", "kill", "flush", "clear"];

/// Two-word phrases written as separate words (`log out`, `sign out`).
const DESTRUCTIVE_PAIRS: &[(&str, &str)] = &[("log", "out"), ("sign", "out"), ("log", "off")];

/// Why an operation is destructive, or `None`: its method (DELETE), or the
/// word in its path or operationId that says so. Path parameters are not
/// read: `/users/{id}` is not destructive because of the id's name.
pub fn destructive_reason(operation: &ScanOperation) -> Option<String> {
    named_destructive(&operation.endpoint.method, &operation.endpoint.path, operation.described.operation_id.as_deref())
}

/// [`destructive_reason`] from an operation's method, path template and operationId.
pub fn named_destructive(method: &str, path: &str, operation_id: Option<&str>) -> Option<String> {
    if method.eq_ignore_ascii_case("DELETE") {
        return Some("DELETE removes what later checks and identities may need".into());
    }
    let mut text: Vec<String> = path.split('/').filter(|s| !s.starts_with('{')).flat_map(split_words).collect();
    if let Some(id) = operation_id {
        text.extend(split_words(id));
    }
    destructive_word(&text).map(|w| format!("its name says `{w}`"))
}

fn destructive_word(words: &[String]) -> Option<String> {
    for pair in words.windows(2) {
        if DESTRUCTIVE_PAIRS.iter().any(|(a, b)| pair[0] == *a && pair[1] == *b) {
            return Some(format!("{} {}", pair[0], pair[1]));
        }
    }
    words
        .iter()
        .find(|w| DESTRUCTIVE_STEMS.iter().any(|s| w.starts_with(s)) || DESTRUCTIVE_WORDS.contains(&w.as_str()))
        .cloned()
}

/// Lower-case words of a path segment or identifier: split at non-letters
/// and at camelCase humps (`createDb` -> `create`, `db`; `_debug` -> `debug`),
/// plus the whole segment run together (`create_db` -> `createdb`).
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in text.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    if words.len() > 1 {
        words.push(words.concat());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(method: &str, path: &str, operation_id: Option<&str>) -> Option<String> {
        let mut op = ScanOperation::bare(method, path);
        op.described.operation_id = operation_id.map(str::to_string);
        destructive_reason(&op)
    }

    #[test]
    fn deletes_and_destructive_names_are_recognised() {
        assert!(reason("DELETE", "/users/{id}", None).is_some());
        for (method, path) in [
            ("GET", "/createdb"),
            ("GET", "/api/admin/reset"),
            ("POST", "/auth/logout"),
            ("POST", "/session/sign-out"),
            ("POST", "/sessions/log_out"),
            ("PUT", "/users/v1/{username}/password"),
            ("POST", "/accounts/{id}/lock"),
            ("POST", "/tokens/{id}/revoke"),
            ("GET", "/db/init"),
            ("POST", "/maintenance/wipe"),
            ("GET", "/api/v1/resetDatabase"),
            ("POST", "/create_db"),
        ] {
            assert!(reason(method, path, None).is_some(), "{method} {path}");
        }
        assert_eq!(reason("POST", "/rpc", Some("deleteAccount")).as_deref(), Some("its name says `delete`"));
    }

    #[test]
    fn ordinary_names_are_not_destructive() {
        for (method, path) in [
            ("GET", "/users/{deleteId}"),
            ("GET", "/lockers"),
            ("GET", "/initial-config"),
            ("POST", "/orders"),
            ("PATCH", "/documents/{id}"),
            ("GET", "/users/v1/_debug"),
            ("GET", "/me"),
            ("POST", "/seedlings"),
            ("GET", "/blocks"),
            ("POST", "/login"),
        ] {
            assert_eq!(reason(method, path, None), None, "{method} {path}");
        }
    }
}

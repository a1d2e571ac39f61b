//! JSON walking: the distinctive leaf values of a body, which the access-control
//! checks compare between identities, and property names as the
//! property-authorization checks match them.

use serde_json::Value;
use std::collections::BTreeSet;

/// Values too common to prove anything: booleans, short strings, small numbers.
fn distinctive(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.chars().count() >= 4 => Some(s.clone()),
        Value::Number(n) if n.as_f64().is_some_and(|f| f.abs() >= 1000.0) => Some(n.to_string()),
        _ => None,
    }
}

/// Every distinctive leaf value of a JSON body.
pub(crate) fn leaves(body: &[u8], out: &mut BTreeSet<String>) {
    fn walk(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            leaf => out.extend(distinctive(leaf)),
        }
    }
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        walk(&value, out);
    }
}

/// A property name, lower case without `_`, `-` and spaces.
pub(crate) fn normalized(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '_' | '-' | ' ')).flat_map(char::to_lowercase).collect()
}

/// Whether two JSON values have the same shape: the same type; objects that
/// share at least half of the smaller one's keys; arrays whose first items
/// have the same shape (an empty array matches any array).
pub(crate) fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let shared = x.keys().filter(|k| y.contains_key(*k)).count();
            shared > 0 && shared * 2 >= x.len().min(y.len())
        }
        (Value::Array(x), Value::Array(y)) => match (x.first(), y.first()) {
            (Some(i), Some(j)) => same_shape(i, j),
            _ => true,
        },
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

/// Words APIs use when they refuse a caller. Many answer a refusal with 200
/// and a message, so a 2xx alone proves nothing was served.
const REFUSAL_WORDS: &[&str] = &[
    "unauthori",
    "unauthenticated",
    "not authenticated",
    "authentication required",
    "authentication failed",
    "login required",
    "please log in",
    "please login",
    "sign in to",
    "invalid token",
    "missing token",
    "token is missing",
    "token missing",
    "no token",
    "token required",
    "token is invalid",
    "invalid credentials",
    "missing credentials",
    "access denied",
    "forbidden",
    "not admin",
    "require admin",
    "requires admin",
    "admin only",
    "admins only",
    "insufficient privilege",
    "insufficient permission",
    "permission denied",
    "not allowed",
];

/// Whether a body reads as a refusal: a short body (a message, not data)
/// carrying one of the words APIs refuse with.
pub(crate) fn reads_as_refusal(body: &[u8]) -> bool {
    if body.len() > 1024 {
        return false;
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    REFUSAL_WORDS.iter().any(|w| text.contains(w))
}

/// Whether a JSON body holds nothing: `{}`, `[]`, `null`, `""`.
pub(crate) fn is_empty_json(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_compare_by_type_and_shared_keys() {
        assert!(same_shape(&json!({"id": 1, "total": 3, "items": []}), &json!({"id": 2, "total": 9, "items": [1]})));
        assert!(!same_shape(&json!({"id": 1, "total": 3}), &json!({"error": "nope"})));
        assert!(same_shape(&json!([{"id": 1, "name": "a"}]), &json!([{"id": 7, "name": "b", "extra": 0}])));
        assert!(!same_shape(&json!([{"id": 1}]), &json!([{"message": "x"}])));
        assert!(same_shape(&json!([]), &json!([{"id": 1}])));
        assert!(!same_shape(&json!({"id": 1}), &json!([{"id": 1}])));
    }

    #[test]
    fn refusals_are_short_messages_with_refusal_words() {
        assert!(reads_as_refusal(br#"{"message": "Unauthorized"}"#));
        assert!(reads_as_refusal(br#"{"status": "fail", "message": "Invalid token. Please log in again."}"#));
        assert!(reads_as_refusal(b"Access denied"));
        assert!(!reads_as_refusal(br#"{"orders": [{"id": 1, "item": "keyboard"}]}"#));
        let long = format!(r#"{{"items": ["{}"], "note": "forbidden"}}"#, "x".repeat(2000));
        assert!(!reads_as_refusal(long.as_bytes()), "data that happens to hold the word");
        assert!(is_empty_json(&json!({})) && is_empty_json(&json!([])) && !is_empty_json(&json!({"a": 1})));
    }

    #[test]
    fn only_distinctive_values_count() {
        let mut out = BTreeSet::new();
        leaves(br#"{"id": 7, "status": "open", "ok": true, "amount": 129900, "ref": "INV-7Q2"}"#, &mut out);
        assert_eq!(out.into_iter().collect::<Vec<_>>(), vec!["129900", "INV-7Q2", "open"]);
    }
}

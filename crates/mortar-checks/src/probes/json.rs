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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_distinctive_values_count() {
        let mut out = BTreeSet::new();
        leaves(br#"{"id": 7, "status": "open", "ok": true, "amount": 129900, "ref": "INV-7Q2"}"#, &mut out);
        assert_eq!(out.into_iter().collect::<Vec<_>>(), vec!["129900", "INV-7Q2", "open"]);
    }
}

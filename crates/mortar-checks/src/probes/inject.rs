//! The inputs of an operation an injection probe may rewrite (path
//! parameters, query parameters, top-level JSON body properties), the
//! operation's request with one input's value replaced, and how alike two
//! answers are (the differential every injection verdict rests on).

use crate::context::{ScanContext, ScanOperation};
use mortar_engine::Request;
use serde_json::Value;
use std::collections::HashMap;

/// One input of an operation, and the value the operation's request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Input {
    /// Where it is.
    pub place: Place,
    /// Its name (the template's parameter name, the query key, the property).
    pub name: String,
    /// Its value in the operation's request (decoded).
    pub original: String,
    /// Whether the original value is a JSON number (body) or all digits (path, query).
    pub numeric: bool,
}

/// Where an input is in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The n-th segment of the path.
    Path(usize),
    /// A query parameter.
    Query,
    /// A top-level property of the JSON body.
    Body,
}

impl Input {
    /// Where the input is, in words: "path parameter `sku`".
    pub(crate) fn describe(&self) -> String {
        let kind = match self.place {
            Place::Path(_) => "path parameter",
            Place::Query => "query parameter",
            Place::Body => "body property",
        };
        format!("{kind} `{}`", self.name)
    }
}

/// The inputs of `op` with a value: path parameters (by the template), query
/// parameters of its request, and string or number properties of its JSON body.
pub(crate) fn inputs(op: &ScanOperation) -> Vec<Input> {
    let mut out = Vec::new();
    let (path, query) = op.target.split_once('?').unwrap_or((&op.target, ""));
    let template: Vec<&str> = op.endpoint.path.split('/').collect();
    let concrete: Vec<&str> = path.split('/').collect();
    if template.len() == concrete.len() {
        for (i, (t, c)) in template.iter().zip(&concrete).enumerate() {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                let original = super::percent_decode(c);
                let numeric = !original.is_empty() && original.bytes().all(|b| b.is_ascii_digit());
                out.push(Input { place: Place::Path(i), name: name.to_string(), original, numeric });
            }
        }
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let original = super::percent_decode(v);
        let numeric = !original.is_empty() && original.bytes().all(|b| b.is_ascii_digit());
        out.push(Input { place: Place::Query, name: super::percent_decode(k), original, numeric });
    }
    if let Some(Ok(Value::Object(body))) = op.body.as_ref().map(|b| serde_json::from_slice::<Value>(b)) {
        for (name, value) in &body {
            match value {
                Value::String(s) => {
                    out.push(Input { place: Place::Body, name: name.clone(), original: s.clone(), numeric: false })
                }
                Value::Number(n) => {
                    out.push(Input { place: Place::Body, name: name.clone(), original: n.to_string(), numeric: true })
                }
                _ => {}
            }
        }
    }
    out
}

/// The operation's request as the primary identity, with `input` set to
/// `value` (encoded for its place; a numeric body property becomes a string).
pub(crate) fn with_value(ctx: &ScanContext, op: &ScanOperation, input: &Input, value: &str) -> Request {
    // Built from `op` itself, not the scan's copy: probes may pass one with other inputs changed.
    let mut request =
        Request::new(&op.endpoint.method, &ctx.origin, op.target.clone()).identity(ctx.primary_identity());
    request.headers = op.headers.clone();
    if let Some(body) = &op.body {
        request.body = body.clone();
    }
    match input.place {
        Place::Path(index) => {
            let (path, query) = match request.target.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (request.target.clone(), None),
            };
            let mut segments: Vec<String> = path.split('/').map(str::to_string).collect();
            if let Some(segment) = segments.get_mut(index) {
                *segment = super::percent_encode(value);
            }
            request.target = segments.join("/");
            if let Some(q) = query {
                request.target = format!("{}?{q}", request.target);
            }
        }
        Place::Query => {
            let (path, query) = request.target.split_once('?').unwrap_or((&request.target, ""));
            let pairs: Vec<String> = query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let key = p.split_once('=').map_or(p, |(k, _)| k);
                    if super::percent_decode(key) == input.name {
                        format!("{key}={}", super::percent_encode(value))
                    } else {
                        p.to_string()
                    }
                })
                .collect();
            request.target = format!("{path}?{}", pairs.join("&"));
        }
        Place::Body => {
            if let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&request.body) {
                body.insert(input.name.clone(), Value::from(value));
                request.body = serde_json::to_vec(&body).unwrap_or_default();
            }
        }
    }
    request
}

/// How alike two answers' bodies are, 0 to 1: the Dice coefficient of their
/// word multisets (letters and digits, case kept), so that a reordered list
/// or a changed timestamp moves it little and a different document a lot.
pub(crate) fn body_similarity(a: &[u8], b: &[u8]) -> f64 {
    fn words(text: &[u8]) -> HashMap<&[u8], usize> {
        let mut counts = HashMap::new();
        for w in text.split(|b| !b.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).take(20_000) {
            *counts.entry(w).or_insert(0) += 1;
        }
        counts
    }
    let (wa, wb) = (words(a), words(b));
    let (na, nb): (usize, usize) = (wa.values().sum(), wb.values().sum());
    if na + nb == 0 {
        return if a == b { 1.0 } else { 0.0 };
    }
    let common: usize = wa.iter().map(|(w, n)| (*n).min(wb.get(w).copied().unwrap_or(0))).sum();
    2.0 * common as f64 / (na + nb) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_come_from_the_template_the_query_and_the_body() {
        let mut op = ScanOperation::bare("POST", "/shops/{shop}/items/{id}");
        op.target = "/shops/north%20side/items/42?sort=name&limit=5".into();
        op.body = Some(br#"{"name": "bolt", "qty": 3, "tags": ["a"]}"#.to_vec());
        let found: Vec<(String, String, bool)> =
            inputs(&op).into_iter().map(|i| (i.describe(), i.original, i.numeric)).collect();
        assert_eq!(
            found,
            vec![
                ("path parameter `shop`".into(), "north side".into(), false),
                ("path parameter `id`".into(), "42".into(), true),
                ("query parameter `sort`".into(), "name".into(), false),
                ("query parameter `limit`".into(), "5".into(), true),
                ("body property `name`".into(), "bolt".into(), false),
                ("body property `qty`".into(), "3".into(), true),
            ]
        );
    }

    #[test]
    fn similarity_tolerates_small_changes_and_sees_other_documents() {
        let a = br#"{"items":[{"sku":"A-1","name":"bolt"},{"sku":"A-2","name":"nut"}],"at":"2026-12-07T08:00:01Z"}"#;
        let b = br#"{"items":[{"sku":"A-1","name":"bolt"},{"sku":"A-2","name":"nut"}],"at":"2026-12-07T08:00:02Z"}"#;
        let c = br#"{"error":"not found"}"#;
        assert!(body_similarity(a, b) > 0.9);
        assert!(body_similarity(a, c) < 0.2);
        assert_eq!(body_similarity(b"", b""), 1.0);
    }
}

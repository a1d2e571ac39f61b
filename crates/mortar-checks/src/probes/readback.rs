//! Read-back through any operation: after a write that left a unique value
//! in an object, find that object wherever the API shows it, so that a
//! probe's verdict rests on what the API stored, not on the write's own
//! answer (which may only echo the request). The operations searched are
//! the safe ones that answered JSON with a 2xx in the reachability sweep:
//! those with one path parameter get the value itself (`GET
//! /users/{username}`), those with none are read whole (lists, `/me`).

use crate::context::ScanContext;
use mortar_engine::Exchange;
use mortar_model::{Endpoint, Identity};
use serde_json::{Map, Value};
use std::sync::Arc;

/// An object found holding the value, and the answer it was in.
pub(crate) struct ReadBack {
    /// The operation that showed it.
    pub endpoint: Endpoint,
    /// Its answer.
    pub exchange: Arc<Exchange>,
    /// The innermost object that holds the value.
    pub object: Map<String, Value>,
}

/// The innermost object in `value` with a string property equal to `marker`.
pub(crate) fn object_holding(value: &Value, marker: &str) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => map
            .values()
            .find_map(|v| object_holding(v, marker))
            .or_else(|| map.values().any(|v| v.as_str() == Some(marker)).then(|| map.clone())),
        Value::Array(items) => items.iter().find_map(|v| object_holding(v, marker)),
        _ => None,
    }
}

/// The safe operations a read-back may use, most direct first (one path
/// parameter, then none): those the sweep saw answer JSON with a 2xx to
/// `identity` (or anonymously, without one).
pub(crate) async fn readers(ctx: &ScanContext, check: &'static str, identity: Option<&Arc<Identity>>) -> Vec<Endpoint> {
    let who = identity.map_or("anonymous", |i| i.name.as_str());
    let sweep = ctx.reachability(check).await;
    let held: Vec<&Endpoint> = ctx.hold.held().iter().map(|h| &h.endpoint).collect();
    let mut out: Vec<(usize, Endpoint)> = Vec::new();
    for op in ctx.operations.iter().filter(|o| o.endpoint.method == "GET" && !held.contains(&&o.endpoint)) {
        let params = op.endpoint.path.matches('{').count();
        if params > 1 {
            continue;
        }
        let answered = sweep.get(&op.endpoint).is_some_and(|reach| {
            reach.iter().any(|r| {
                r.identity == who
                    && r.result.as_ref().is_ok_and(|e| {
                        (200..300).contains(&e.response.status)
                            && serde_json::from_slice::<Value>(&e.response.body).is_ok()
                    })
            })
        });
        // An operation with a path parameter answered for its example value;
        // with the marker instead it names the new object.
        if answered || params == 1 {
            out.push((1 - params, op.endpoint.clone()));
        }
    }
    out.sort_by_key(|(rank, _)| *rank);
    out.into_iter().map(|(_, e)| e).collect()
}

/// Finds the object that holds `marker` and at least one of the `wanted`
/// properties through `readers`, as `identity`, with at most `max` requests.
pub(crate) async fn find_object(
    ctx: &ScanContext,
    check: &'static str,
    identity: Option<&Arc<Identity>>,
    readers: &[Endpoint],
    marker: &str,
    wanted: &[String],
    max: usize,
) -> Option<ReadBack> {
    for endpoint in readers.iter().take(max) {
        let Some(op) = ctx.operation(endpoint) else { continue };
        // The one path parameter, if any, set to the marker.
        let path_input =
            super::inject::inputs(op).into_iter().find(|i| matches!(i.place, super::inject::Place::Path(_)));
        let request = match &path_input {
            Some(input) => super::inject::with_value(ctx, op, input, marker),
            None => ctx.request("GET", endpoint),
        }
        .identity(identity.cloned());
        let Ok(exchange) = ctx.send(check, Some(endpoint), request).await else { continue };
        if !(200..300).contains(&exchange.response.status) {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<Value>(&exchange.response.body) else { continue };
        if let Some(object) = object_holding(&value, marker)
            && wanted.iter().any(|w| object.contains_key(w))
        {
            return Some(ReadBack { endpoint: endpoint.clone(), exchange: Arc::new(exchange), object });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_innermost_object_holding_the_value_is_found() {
        let list = json!({"users": [{"username": "ana", "admin": false}, {"username": "mrtr-7", "admin": true}]});
        assert_eq!(
            object_holding(&list, "mrtr-7"),
            Some(serde_json::from_value(json!({"username": "mrtr-7", "admin": true})).unwrap_or_default())
        );
        let wrapped = json!({"data": {"member": {"handle": "mrtr-7", "role": "user"}}, "handle": "other"});
        assert_eq!(object_holding(&wrapped, "mrtr-7").and_then(|o| o.get("role").cloned()), Some(json!("user")));
        assert_eq!(object_holding(&json!({"note": "mrtr-7 was here"}), "mrtr-7"), None, "a mention is not the value");
    }
}

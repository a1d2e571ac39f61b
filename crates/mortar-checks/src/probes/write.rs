//! Write and read back: the PUT/PATCH operations whose object a GET on the
//! same path reads, the body of a write that changes one property, and the
//! requests that read, write and restore. Shared by
//! `property-authorization.mass-assignment` and `bola.cross-identity-write`.

use crate::context::{ScanContext, ScanOperation};
use mortar_engine::{Exchange, Request};
use mortar_model::Identity;
use serde_json::{Map, Value};
use std::sync::Arc;

fn json(ex: &Exchange) -> Option<Value> {
    serde_json::from_slice(&ex.response.body).ok()
}

fn ok(ex: &Exchange) -> bool {
    (200..300).contains(&ex.response.status)
}

/// The properties a schema documents for an object (`allOf`/`oneOf`/`anyOf` merged),
/// `None` when it says nothing about them (free-form).
pub(crate) fn documented_properties(schema: &Value) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut said = false;
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.clone());
        said = true;
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for sub in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(props) = documented_properties(sub) {
                out.extend(props);
                said = true;
            }
        }
    }
    // A map type (`additionalProperties: {schema}`) documents any key.
    if schema.get("additionalProperties").is_some_and(Value::is_object) {
        return None;
    }
    said.then_some(out)
}

/// The write's body: the object's documented writable properties as read, plus the change.
pub(crate) fn write_body(op: &ScanOperation, object: &Map<String, Value>, name: &str, value: &Value) -> Value {
    let mut body = Map::new();
    let documented = op.described.request_schema.as_ref().and_then(documented_properties);
    match documented {
        Some(props) => {
            for key in props.keys() {
                if let Some(v) = object.get(key) {
                    body.insert(key.clone(), v.clone());
                }
            }
        }
        // A full replacement with nothing documented: the object as read.
        None if op.endpoint.method == "PUT" => body = object.clone(),
        None => {}
    }
    body.insert(name.to_string(), value.clone());
    Value::Object(body)
}

/// PUT and PATCH operations with a GET on the same concrete path: what is
/// written can be read back.
pub(crate) fn write_read_pairs(ctx: &ScanContext) -> impl Iterator<Item = (&ScanOperation, &ScanOperation)> {
    ctx.operations.iter().filter(|w| matches!(w.endpoint.method.as_str(), "PUT" | "PATCH")).filter_map(|w| {
        let read = ctx.operations.iter().find(|r| r.endpoint.method == "GET" && r.endpoint.path == w.endpoint.path)?;
        (read.target.split('?').next() == w.target.split('?').next()).then_some((w, read))
    })
}
/// The object `read` answers `identity`, when it is a JSON object with a 2xx.
pub(crate) async fn read_object(
    check: &'static str,
    ctx: &ScanContext,
    identity: &Arc<Identity>,
    read: &ScanOperation,
) -> Option<(Arc<Exchange>, Map<String, Value>)> {
    read_object_at(check, ctx, identity, read, &read.target).await
}

/// [`read_object`] of the object at the concrete path `target`.
pub(crate) async fn read_object_at(
    check: &'static str,
    ctx: &ScanContext,
    identity: &Arc<Identity>,
    read: &ScanOperation,
    target: &str,
) -> Option<(Arc<Exchange>, Map<String, Value>)> {
    let mut request = ctx.request("GET", &read.endpoint).identity(Some(identity.clone()));
    request.target = target.to_string();
    let ex = ctx.send(check, Some(&read.endpoint), request).await.ok()?;
    match json(&ex) {
        Some(Value::Object(map)) if ok(&ex) => Some((Arc::new(ex), map)),
        _ => None,
    }
}

/// The write as `identity` with a JSON body.
pub(crate) fn write_request(
    ctx: &ScanContext,
    identity: &Arc<Identity>,
    write: &ScanOperation,
    body: &Value,
) -> Request {
    let mut request = ctx.request(&write.endpoint.method, &write.endpoint).identity(Some(identity.clone()));
    request.body = serde_json::to_vec(body).unwrap_or_default();
    request.headers.retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
    request.headers.push(("Content-Type".into(), b"application/json".to_vec()));
    request
}

/// Sends the write as `identity`; `None` when it got no answer.
pub(crate) async fn send_write(
    check: &'static str,
    ctx: &ScanContext,
    identity: &Arc<Identity>,
    write: &ScanOperation,
    body: &Value,
) -> Option<Exchange> {
    let request = write_request(ctx, identity, write, body);
    ctx.send(check, Some(&write.endpoint), request).await.ok()
}

/// The create operation of `write`'s object: a POST on the collection one
/// path segment above it (`POST /documents` for `PATCH /documents/{id}`),
/// and the name of the path parameter that names the object.
pub(crate) fn create_operation<'a>(ctx: &'a ScanContext, write: &ScanOperation) -> Option<(&'a ScanOperation, String)> {
    let (parent, last) = write.endpoint.path.rsplit_once('/')?;
    let param = last.strip_prefix('{')?.strip_suffix('}')?;
    let create = ctx.operations.iter().find(|o| o.endpoint.method == "POST" && o.endpoint.path == parent)?;
    Some((create, param.to_string()))
}

/// A new object of `identity`'s for a write probe to work on, so that the
/// probe never touches data the identity had (its own account included):
/// created through [`create_operation`] with its synthesized body, and
/// found at the collection path plus the id the answer names. Returns the
/// object's concrete path; `None` when the API has no such operation or the
/// answer names no id.
pub(crate) async fn create_object(
    check: &'static str,
    ctx: &ScanContext,
    identity: &Arc<Identity>,
    write: &ScanOperation,
) -> Option<String> {
    let (create, param) = create_operation(ctx, write)?;
    let mut request = ctx.request("POST", &create.endpoint).identity(Some(identity.clone()));
    if request.body.is_empty() {
        request.body = b"{}".to_vec();
    }
    if !request.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
        request.headers.push(("Content-Type".into(), b"application/json".to_vec()));
    }
    let created = ctx.send(check, Some(&create.endpoint), request).await.ok()?;
    if !ok(&created) {
        return None;
    }
    let id = created_id(&json(&created)?, &param)?;
    let collection = create.target.split('?').next()?.trim_end_matches('/');
    Some(format!("{collection}/{}", super::percent_encode(&id)))
}

/// The id a create answer names: the path parameter's own name, `id`, `_id`
/// or `uuid`, at the top level or under one wrapper object (`data`, `item`).
fn created_id(answer: &Value, param: &str) -> Option<String> {
    let scalar = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let find = |object: &Map<String, Value>| {
        [param, "id", "_id", "uuid"].iter().find_map(|key| object.get(*key).and_then(scalar))
    };
    let object = answer.as_object()?;
    find(object).or_else(|| object.values().filter_map(Value::as_object).find_map(find))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_created_object_is_found_by_the_id_its_answer_names() {
        assert_eq!(created_id(&json!({"id": 14, "title": "x"}), "documentId").as_deref(), Some("14"));
        assert_eq!(created_id(&json!({"data": {"noteId": "nt-1"}}), "noteId").as_deref(), Some("nt-1"));
        assert_eq!(created_id(&json!({"status": "created"}), "id"), None);
    }

    #[test]
    fn the_write_carries_documented_properties_as_read_and_the_change() {
        let mut op = ScanOperation::bare("PATCH", "/me");
        op.described.request_schema = Some(json!({"properties": {"display_name": {}, "role": {"readOnly": true}}}));
        let object: Map<String, Value> =
            serde_json::from_value(json!({"id": 7, "display_name": "Ann", "role": "member"})).unwrap_or_default();
        assert_eq!(write_body(&op, &object, "role", &json!("admin")), json!({"display_name": "Ann", "role": "admin"}));
    }
}

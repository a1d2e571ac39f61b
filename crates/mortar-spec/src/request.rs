//! A concrete request for an operation: parameters filled and serialised by
//! their style, a body encoded for its media type.

use crate::model::{Api, MediaType, Operation, ParamLocation, Parameter, join_path};
use crate::synth::{KnownValues, SynthOptions, stable_hash, synthesize};
use serde::Serialize;
use serde_json::{Value, json};

/// How requests are built.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestOptions {
    /// Synthesis settings (the seed is combined with method and path per operation).
    pub synth: SynthOptions,
    /// Observed values to use instead of invented ones.
    pub known: KnownValues,
    /// Base path to put in front of the operation path; `None` uses the spec's.
    pub base_path: Option<String>,
    /// Media type to send when the operation accepts several; `None` prefers JSON.
    pub content_type: Option<String>,
    /// Leave optional query, header and cookie parameters out.
    pub required_only: bool,
}

/// A request ready to be sent (to the target's scheme, host and port).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConcreteRequest {
    /// Upper-case method.
    pub method: String,
    /// Base path plus the filled, percent-encoded path.
    pub path: String,
    /// Encoded query string without `?` (empty when none).
    pub query: String,
    /// `path` plus `?query` when there is one.
    pub path_and_query: String,
    /// Headers from header and cookie parameters, `Accept` and `Content-Type`.
    pub headers: Vec<(String, String)>,
    /// The chosen body media type (with `boundary` for multipart).
    pub content_type: Option<String>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// Constraints that could not be honoured.
    pub notes: Vec<String>,
}

/// The key of one parameter in [`KnownValues::by_pointer`]:
/// `<operation pointer>#<location>.<name>`, e.g. `/paths/~1users~1{id}/get#path.id`.
pub fn param_key(op: &Operation, p: &Parameter) -> String {
    let loc = match p.location {
        ParamLocation::Path => "path",
        ParamLocation::Query => "query",
        ParamLocation::Header => "header",
        ParamLocation::Cookie => "cookie",
    };
    format!("{}#{loc}.{}", op.location.pointer, p.name)
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Percent-encodes everything but unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if is_unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The `(name, value)` pairs or single value a parameter serialises to
/// (values already percent-encoded when `encode` is set).
fn serialize_param(p: &Parameter, v: &Value, encode: bool) -> Vec<(String, String)> {
    let enc = |s: &str| if encode { encode_component(s) } else { s.to_string() };
    let name = enc(&p.name);
    let items: Vec<String> = match v {
        Value::Array(a) => a.iter().map(|x| enc(&scalar_text(x))).collect(),
        _ => Vec::new(),
    };
    let pairs: Vec<(String, String)> = match v {
        Value::Object(o) => o.iter().map(|(k, x)| (enc(k), enc(&scalar_text(x)))).collect(),
        _ => Vec::new(),
    };
    let single = enc(&scalar_text(v));
    let flat_pairs = |sep: &str| pairs.iter().map(|(k, x)| format!("{k}{sep}{x}")).collect::<Vec<_>>();
    match (p.style.as_str(), v) {
        ("form", Value::Array(_)) if p.explode => items.into_iter().map(|i| (name.clone(), i)).collect(),
        ("form", Value::Array(_)) => vec![(name, items.join(","))],
        ("form", Value::Object(_)) if p.explode => pairs,
        ("form", Value::Object(_)) => vec![(name, flat_pairs(",").join(",").replace('=', ","))],
        ("spaceDelimited", Value::Array(_)) => vec![(name, items.join(if encode { "%20" } else { " " }))],
        ("pipeDelimited", Value::Array(_)) => vec![(name, items.join("|"))],
        ("deepObject", Value::Object(_)) => {
            pairs.into_iter().map(|(k, x)| (format!("{name}{}{k}{}", enc("["), enc("]")), x)).collect()
        }
        (_, Value::Array(_)) => vec![(name, items.join(","))],
        (_, Value::Object(_)) if p.explode => vec![(name, flat_pairs("=").join(","))],
        (_, Value::Object(_)) => {
            vec![(name, pairs.iter().map(|(k, x)| format!("{k},{x}")).collect::<Vec<_>>().join(","))]
        }
        _ => vec![(name, single)],
    }
}

/// A path parameter's text, by style (`simple`, `label`, `matrix`).
fn path_value(p: &Parameter, v: &Value) -> String {
    let joined = serialize_param(p, v, true).into_iter().map(|(_, x)| x).collect::<Vec<_>>().join(",");
    match p.style.as_str() {
        "label" => format!(".{joined}"),
        "matrix" => format!(";{}={joined}", encode_component(&p.name)),
        _ => joined,
    }
}

/// Picks the media type to send: the requested one, else JSON, form, multipart, text, anything.
fn choose_media<'m>(
    content: &'m std::collections::BTreeMap<String, MediaType>,
    wanted: Option<&str>,
) -> Option<(&'m String, &'m MediaType)> {
    if let Some(w) = wanted
        && let Some(x) = content.get_key_value(w)
    {
        return Some(x);
    }
    let rank = |ct: &str| {
        let ct = ct.to_ascii_lowercase();
        if ct.starts_with("application/json") || ct.contains("+json") {
            0
        } else if ct.starts_with("application/x-www-form-urlencoded") {
            1
        } else if ct.starts_with("multipart/form-data") {
            2
        } else if ct.starts_with("text/") {
            3
        } else {
            4
        }
    };
    content.iter().min_by_key(|(ct, _)| rank(ct))
}

/// Builds a concrete request for `op`. Deterministic: the same spec, options
/// and seed give the same bytes every run.
pub fn build_request(api: &Api, op: &Operation, opts: &RequestOptions) -> ConcreteRequest {
    let op_seed = opts.synth.seed ^ stable_hash(&format!("{} {}", op.method, op.path));
    let mut notes = Vec::new();
    let mut value_for =
        |p: &Parameter, salt: &str, known: Option<&Value>, schema: &Value, example: Option<&Value>| -> Value {
            if let Some(k) = known {
                return k.clone();
            }
            if let Some(e) = example {
                return e.clone();
            }
            let so = SynthOptions { seed: op_seed ^ stable_hash(salt), ..opts.synth.clone() };
            let s = synthesize(schema, &api.schemas, &opts.known, &so);
            for n in s.notes {
                notes.push(format!("{}: {n}", p.name));
            }
            s.value
        };
    let mut path = op.path.clone();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut cookies: Vec<String> = Vec::new();
    for p in &op.parameters {
        if opts.required_only && !p.required {
            continue;
        }
        if p.location == ParamLocation::Header
            && matches!(p.name.to_ascii_lowercase().as_str(), "accept" | "content-type" | "authorization")
        {
            continue; // 3.x: these are described elsewhere and ignored as parameters
        }
        let key = param_key(op, p);
        let v = value_for(p, &key, opts.known.lookup(Some(&key), &p.name), &p.schema, p.example.as_ref());
        match p.location {
            ParamLocation::Path => path = path.replace(&format!("{{{}}}", p.name), &path_value(p, &v)),
            ParamLocation::Query => query.extend(serialize_param(p, &v, true)),
            ParamLocation::Header => {
                let text = serialize_param(p, &v, false).into_iter().map(|(_, x)| x).collect::<Vec<_>>().join(",");
                headers.push((p.name.clone(), text));
            }
            ParamLocation::Cookie => {
                for (k, x) in serialize_param(p, &v, true) {
                    cookies.push(format!("{k}={x}"));
                }
            }
        }
    }
    if !cookies.is_empty() {
        headers.push(("Cookie".into(), cookies.join("; ")));
    }
    let accept = op
        .responses
        .iter()
        .filter(|(s, r)| s.starts_with('2') && !r.content.is_empty())
        .find_map(|(_, r)| choose_media(&r.content, None).map(|(ct, _)| ct.clone()));
    if let Some(a) = accept {
        headers.push(("Accept".into(), a));
    }
    let mut content_type = None;
    let mut body = None;
    if let Some(rb) = &op.request_body
        && let Some((ct, mt)) = choose_media(&rb.content, opts.content_type.as_deref())
    {
        let v = match &mt.example {
            Some(e) => e.clone(),
            None => {
                let so = SynthOptions { seed: op_seed ^ stable_hash("body"), ..opts.synth.clone() };
                let s = synthesize(mt.schema.as_ref().unwrap_or(&json!({})), &api.schemas, &opts.known, &so);
                notes.extend(s.notes.into_iter().map(|n| format!("body: {n}")));
                s.value
            }
        };
        let (bytes, final_ct) = encode_body(ct, &v, mt.schema.as_ref(), op_seed, &mut notes);
        headers.push(("Content-Type".into(), final_ct.clone()));
        content_type = Some(final_ct);
        body = Some(bytes);
    }
    let base = opts.base_path.as_deref().unwrap_or(&api.base_path);
    let full = if base == "/" || base.is_empty() { path } else { join_path(base, &path) };
    let query = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let path_and_query = if query.is_empty() { full.clone() } else { format!("{full}?{query}") };
    ConcreteRequest { method: op.method.clone(), path: full, query, path_and_query, headers, content_type, body, notes }
}

fn encode_body(ct: &str, v: &Value, schema: Option<&Value>, seed: u64, notes: &mut Vec<String>) -> (Vec<u8>, String) {
    let lower = ct.to_ascii_lowercase();
    if lower.starts_with("application/json") || lower.contains("+json") {
        return (serde_json::to_vec(v).unwrap_or_default(), ct.to_string());
    }
    if lower.starts_with("application/x-www-form-urlencoded") {
        let mut pairs = Vec::new();
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    match x {
                        Value::Array(a) => pairs.extend(
                            a.iter().map(|i| format!("{}={}", encode_component(k), encode_component(&scalar_text(i)))),
                        ),
                        Value::Object(_) => {
                            pairs.push(format!("{}={}", encode_component(k), encode_component(&x.to_string())))
                        }
                        _ => pairs.push(format!("{}={}", encode_component(k), encode_component(&scalar_text(x)))),
                    }
                }
            }
            other => pairs.push(encode_component(&scalar_text(other))),
        }
        return (pairs.join("&").into_bytes(), ct.to_string());
    }
    if lower.starts_with("multipart/") {
        let boundary = format!("mortar-{seed:016x}");
        let mut out = Vec::new();
        let props = schema.and_then(|s| s.get("properties"));
        if let Value::Object(o) = v {
            for (k, x) in o {
                let binary = props.and_then(|p| p.get(k)).and_then(|s| s.get("format")).and_then(Value::as_str)
                    == Some("binary");
                out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                let name = k.replace('"', "%22");
                if binary {
                    out.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
                    );
                } else if x.is_object() || x.is_array() {
                    out.extend_from_slice(
                        format!(
                            "Content-Disposition: form-data; name=\"{name}\"\r\nContent-Type: application/json\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                } else {
                    out.extend_from_slice(
                        format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                    );
                }
                let text = if x.is_object() || x.is_array() { x.to_string() } else { scalar_text(x) };
                out.extend_from_slice(text.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        return (out, format!("{ct}; boundary={boundary}"));
    }
    match v {
        Value::String(s) => (s.clone().into_bytes(), ct.to_string()),
        other => {
            if !lower.starts_with("text/") {
                notes.push(format!("body: no encoder for `{ct}`; sent as JSON text"));
            }
            (other.to_string().into_bytes(), ct.to_string())
        }
    }
}

//! The API description of a scan: from `--spec` (a file, or a URL fetched once
//! from its own host, which is not scanned) or discovered at the target.

use crate::error::InputError;
use mortar_checks::{Described, ScanOperation};
use mortar_engine::{Engine, EngineConfig, Origin, Request, TlsSettings};
use mortar_model::Identity;
use mortar_model::{SkippedOperation, Target};
use mortar_spec::request::param_key;
use mortar_spec::{Api, KnownValues, NoRefSource, ParamLocation, RequestOptions};
use serde_json::Value;
use std::sync::Arc;

/// Paths where APIs commonly publish their description, tried under the base
/// path first, then at the root.
pub const DISCOVERY_PATHS: &[&str] =
    &["openapi.json", "swagger.json", "openapi.yaml", "v3/api-docs", "swagger/v1/swagger.json", "api-docs"];

/// The tag discovery requests carry.
pub const DISCOVERY_TAG: &str = "spec-discovery";

/// Whether `--spec` names a URL rather than a file.
pub fn is_url(spec: &str) -> bool {
    spec.starts_with("http://") || spec.starts_with("https://")
}

/// Loads a description file.
pub fn load_file(path: &str) -> Result<Api, InputError> {
    mortar_spec::load_file(path).map_err(|e| InputError::new(format!("--spec: {e}")))
}

/// Loads a description from a file or a URL (fetched once, see [`fetch`]).
pub async fn load(source: &str, tls: &TlsSettings, timeout: std::time::Duration) -> Result<Api, InputError> {
    if is_url(source) { fetch(source, tls, timeout).await } else { load_file(source) }
}

/// The scan target for a description: the target's origin with the base path
/// of the server entry chosen for it (see [`mortar_spec::resolve_target`]).
pub fn resolve(api: &Api, target_url: &str) -> Result<mortar_spec::ResolvedTarget, InputError> {
    mortar_spec::resolve_target(api, target_url).map_err(|e| InputError::new(e.to_string()))
}

/// Fetches a description from its own host (which is not scanned): the
/// document once, then each external `$ref` document from the same origin
/// (scheme, host and port) once; refs elsewhere are refused, which skips only
/// the operations that need them.
pub async fn fetch(url: &str, tls: &TlsSettings, timeout: std::time::Duration) -> Result<Api, InputError> {
    let target = Target::parse(url).map_err(|e| InputError::new(format!("--spec: {e}")))?;
    let origin = (target.scheme.clone(), target.host.to_ascii_lowercase(), target.port);
    let bytes = fetch_bytes(url, &origin, tls, timeout).await.map_err(|e| InputError::new(format!("--spec: {e}")))?;
    let refs = UrlRefSource { origin, tls: tls.clone(), timeout };
    let url = url.to_string();
    // mortar-spec resolves refs synchronously: load on a blocking thread, where
    // each external document is fetched on a runtime of its own.
    tokio::task::spawn_blocking(move || mortar_spec::load_bytes(&bytes, &url, &refs))
        .await
        .map_err(|e| InputError::new(format!("--spec: loading stopped: {e}")))?
        .map_err(|e| InputError::new(format!("--spec: {e}")))
}

/// Scheme, lower-case host and port of the description's URL.
type SpecOrigin = (String, String, u16);

/// One GET of a document from `origin`, with its own one-request engine.
async fn fetch_bytes(
    url: &str,
    origin: &SpecOrigin,
    tls: &TlsSettings,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, String> {
    let target = Target::parse(url).map_err(|e| e.to_string())?;
    if (target.scheme.clone(), target.host.to_ascii_lowercase(), target.port) != *origin {
        return Err(format!("{url}: references outside {}://{}:{} are not followed", origin.0, origin.1, origin.2));
    }
    let config = EngineConfig {
        scope_hosts: vec![target.host.clone()],
        tls: tls.clone(),
        timeout,
        max_requests: Some(1),
        ..EngineConfig::default()
    };
    let engine = Engine::new(config, &[]).map_err(|e| e.chain())?;
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let path_and_query =
        url[after_scheme..].find('/').map(|i| url[after_scheme + i..].to_string()).unwrap_or_else(|| "/".into());
    let path_and_query = path_and_query.split('#').next().unwrap_or("/").to_string();
    let exchange = engine
        .send(Request::get(&Origin::of(&target), path_and_query))
        .await
        .map_err(|e| format!("cannot fetch {url}: {}", e.chain()))?;
    if exchange.response.status != 200 {
        return Err(format!("{url} answered HTTP {}", exchange.response.status));
    }
    Ok(exchange.response.body.to_vec())
}

/// External `$ref` documents of a description fetched by URL: same origin only.
struct UrlRefSource {
    origin: SpecOrigin,
    tls: TlsSettings,
    timeout: std::time::Duration,
}

impl mortar_spec::RefSource for UrlRefSource {
    fn fetch(&self, uri: &str) -> std::io::Result<Vec<u8>> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(fetch_bytes(uri, &self.origin, &self.tls, self.timeout)).map_err(std::io::Error::other)
    }
}

/// Longest a discovery request may take: discovery must not eat the scan's deadline.
const DISCOVERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Looks for a published description at the target. The candidates are asked
/// at once, each with a short timeout, so a slow target costs one timeout, not
/// one per candidate; the first candidate (in order) that loads wins.
pub async fn discover(engine: &Engine, target: &Target) -> Option<(String, Api)> {
    let origin = Origin::of(target);
    let mut candidates: Vec<String> = DISCOVERY_PATHS.iter().map(|p| target.join(p)).collect();
    if target.base_path != "/" {
        candidates.extend(DISCOVERY_PATHS.iter().map(|p| format!("/{p}")));
    }
    let timeout = engine.config().timeout.min(DISCOVERY_TIMEOUT);
    let fetches = candidates.iter().map(|path| {
        let mut request = Request::get(&origin, path.clone()).tag(DISCOVERY_TAG);
        request.options.timeout = Some(timeout);
        engine.send(request)
    });
    let answers = futures::future::join_all(fetches).await;
    for (path, answer) in candidates.iter().zip(answers) {
        let Ok(exchange) = answer else { continue };
        if exchange.response.status != 200 {
            continue;
        }
        let url = origin.url(path);
        if let Ok(api) = mortar_spec::load_bytes(&exchange.response.body, &url, &NoRefSource) {
            return Some((url, api));
        }
    }
    None
}

/// The scan's operations from a description: every documented operation with
/// a concrete, deterministic request (fixed seed) under the effective base path.
/// `known` holds ids learned from the live API (see [`learn`]), preferred
/// over invented values.
pub fn operations(api: &Api, target: &Target, known: &KnownValues) -> Vec<ScanOperation> {
    let options =
        RequestOptions { base_path: Some(target.base_path.clone()), known: known.clone(), ..RequestOptions::default() };
    api.operations
        .iter()
        .map(|op| {
            let request = mortar_spec::build_request(api, op, &options);
            let mut headers: Vec<(String, Vec<u8>)> =
                request.headers.iter().map(|(n, v)| (n.clone(), v.clone().into_bytes())).collect();
            if let (Some(ct), Some(_)) = (&request.content_type, &request.body)
                && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("Content-Type".into(), ct.clone().into_bytes()));
            }
            ScanOperation {
                endpoint: op.endpoint(&target.base_path),
                target: request.path_and_query.clone(),
                headers,
                body: request.body.clone(),
                deprecated: op.deprecated,
                // Some requirement that is not empty: credentials are needed.
                secured: !op.security.is_empty() && op.security.iter().all(|req| !req.is_empty()),
                source: Some((op.location.file.clone(), op.location.line, op.location.pointer.clone())),
                described: described(op),
            }
        })
        .collect()
}

/// The JSON schema of a media-type map (`application/json` or any `+json`).
fn json_schema(content: &std::collections::BTreeMap<String, mortar_spec::MediaType>) -> Option<serde_json::Value> {
    content
        .iter()
        .find(|(media, _)| {
            let media = media.to_ascii_lowercase();
            media.starts_with("application/json") || media.contains("+json") || media == "*/*"
        })
        .and_then(|(_, m)| m.schema.clone())
}

/// What the access-control checks read from an operation's description.
fn described(op: &mortar_spec::Operation) -> Described {
    let mut scopes: Vec<String> = op.security.iter().flat_map(|req| req.values().flatten().cloned()).collect();
    scopes.sort();
    scopes.dedup();
    let response_schema = op
        .responses
        .iter()
        .filter(|(status, _)| status.starts_with('2'))
        .find_map(|(_, response)| json_schema(&response.content));
    Described {
        operation_id: op.operation_id.clone(),
        summary: op.summary.clone(),
        tags: op.tags.clone(),
        scopes,
        response_schema,
        request_schema: op.request_body.as_ref().and_then(|b| json_schema(&b.content)),
        query_parameters: op
            .parameters
            .iter()
            .filter(|p| p.location == ParamLocation::Query)
            .map(|p| (p.name.clone(), p.schema.get("format").and_then(Value::as_str).map(str::to_string)))
            .collect(),
    }
}

/// The description's skipped operations, for coverage.
pub fn skipped(api: &Api) -> Vec<SkippedOperation> {
    api.skipped
        .iter()
        .map(|p| SkippedOperation {
            file: p.file.clone(),
            pointer: p.pointer.clone(),
            line: p.line,
            reason: p.reason.clone(),
        })
        .collect()
}

/// The tag the learning requests carry.
pub const LEARN_TAG: &str = "spec-learn";

/// Most collection operations asked during learning: bounds its cost on large APIs.
const MAX_LEARNING_REQUESTS: usize = 50;

/// Learns real ids before the checks run, so operations on one object
/// (`/orders/{orderId}`) are called with an object that exists instead of an
/// invented id that can only 404. Every GET operation without path
/// parameters is asked once (as `identity`); from each JSON answer come the
/// values its OpenAPI links point at, the `id` of the listed objects for the
/// operations one path segment below, and every `...Id`/`..._id` field by
/// name. One level deep: ids found by calling a learned object are not used
/// to learn further.
/// Operations whose path `--include-path` / `--exclude-path` leave out are
/// never asked (a learning GET may be one that resets the API).
pub async fn learn(
    engine: &Engine,
    target: &Target,
    api: &Api,
    identity: Option<Arc<Identity>>,
    paths: &PathFilter<'_>,
) -> KnownValues {
    let origin = Origin::of(target);
    let plain = operations(api, target, &KnownValues::default());
    let collections = collection_operations(api, target, paths);
    let asks = collections.iter().map(|&i| {
        let mut request = Request::get(&origin, plain[i].target.clone()).identity(identity.clone()).tag(LEARN_TAG);
        request.headers = plain[i].headers.clone();
        engine.send(request)
    });
    let answers = futures::future::join_all(asks).await;
    let mut known = KnownValues::default();
    for (&i, answer) in collections.iter().zip(answers) {
        let Ok(exchange) = answer else { continue };
        let status = exchange.response.status;
        if !(200..300).contains(&status) {
            continue;
        }
        let Ok(body) = serde_json::from_slice::<Value>(&exchange.response.body) else { continue };
        learn_from_response(api, i, status, &body, &mut known);
    }
    known
}

/// `--include-path` and `--exclude-path` globs.
#[derive(Debug, Clone, Copy, Default)]
pub struct PathFilter<'a> {
    /// Only these (empty: all).
    pub include: &'a [String],
    /// Never these.
    pub exclude: &'a [String],
}

impl PathFilter<'_> {
    /// Whether a path template is scanned.
    pub fn selected(&self, path: &str) -> bool {
        mortar_checks::context::path_selected(path, self.include, self.exclude)
    }
}

/// The operations [`learn`] asks: GETs without path parameters whose path
/// the filter keeps, at most [`MAX_LEARNING_REQUESTS`], by index into `api.operations`.
fn collection_operations(api: &Api, target: &Target, paths: &PathFilter<'_>) -> Vec<usize> {
    api.operations
        .iter()
        .enumerate()
        .filter(|(_, op)| op.method == "GET" && !op.parameters.iter().any(|p| p.location == ParamLocation::Path))
        // A GET named like a reset or a logout is not a collection to learn from.
        .filter(|(_, op)| {
            mortar_checks::context::hazard::named_destructive(&op.method, &op.path, op.operation_id.as_deref())
                .is_none()
        })
        .filter(|(_, op)| paths.selected(&op.endpoint(&target.base_path).path))
        .map(|(i, _)| i)
        .take(MAX_LEARNING_REQUESTS)
        .collect()
}

/// How many requests [`learn`] will send, for the dry-run plan.
pub fn learning_requests(api: &Api, target: &Target, paths: &PathFilter<'_>) -> usize {
    collection_operations(api, target, paths).len()
}

/// What one JSON answer of operation `index` teaches (see [`learn`]).
pub fn learn_from_response(api: &Api, index: usize, status: u16, body: &Value, known: &mut KnownValues) {
    let op = &api.operations[index];
    // OpenAPI links: `$response.body#/pointer` values for another operation's parameters.
    let status_key = status.to_string();
    let response = op
        .responses
        .get(&status_key)
        .or_else(|| op.responses.get(&format!("{}XX", status / 100)))
        .or_else(|| op.responses.get("default"));
    for link in response.into_iter().flat_map(|r| r.links.values()) {
        let Some(linked) = link.operation_id.as_deref().and_then(|id| api.operation(id)) else { continue };
        for (name, expression) in &link.parameters {
            let value = match expression.as_str() {
                Some(e) if e.starts_with("$response.body#") => body.pointer(&e["$response.body#".len()..]).cloned(),
                Some(e) if e.starts_with('$') => None, // other runtime expressions are not evaluated
                _ => Some(expression.clone()),
            };
            let parameter = linked.parameters.iter().find(|p| p.name == *name);
            if let (Some(value), Some(parameter)) = (value.filter(is_scalar), parameter) {
                known.add_pointer(param_key(linked, parameter), value);
            }
        }
    }
    let objects = listed_objects(body);
    // The listed objects' `id` for `{param}` one segment below this path.
    if let Some(id) = objects.iter().find_map(|o| o.get("id").filter(|v| is_scalar(v))) {
        let prefix = format!("{}/", op.path.trim_end_matches('/'));
        for below in &api.operations {
            let Some(rest) = below.path.strip_prefix(&prefix) else { continue };
            let Some(name) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else { continue };
            if let Some(parameter) =
                below.parameters.iter().find(|p| p.name == name && p.location == ParamLocation::Path)
            {
                known.add_pointer(param_key(below, parameter), id.clone());
            }
        }
    }
    // Foreign keys by name (`customerId`, `order_id`), for any operation with that parameter.
    for object in &objects {
        for (field, value) in object.iter() {
            let lower = field.to_ascii_lowercase();
            if (lower.ends_with("id") && lower.len() > 2 && (field.ends_with("Id") || lower.ends_with("_id")))
                && is_scalar(value)
                && !known.by_name.contains_key(field)
            {
                known.add_name(field.clone(), value.clone());
            }
        }
    }
}

/// The objects a collection answer lists: the array itself, the first array of
/// objects under a top-level key (`items`, `data`, ...), or the object alone.
fn listed_objects(body: &Value) -> Vec<&serde_json::Map<String, Value>> {
    let array = match body {
        Value::Array(items) => Some(items),
        Value::Object(map) => map.values().find_map(|v| v.as_array().filter(|a| a.iter().any(Value::is_object))),
        _ => None,
    };
    match (array, body) {
        (Some(items), _) => items.iter().filter_map(Value::as_object).take(20).collect(),
        (None, Value::Object(map)) => vec![map],
        _ => Vec::new(),
    }
}

fn is_scalar(value: &Value) -> bool {
    matches!(value, Value::String(s) if !s.is_empty()) || value.is_number()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn api() -> Api {
        let doc = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/things": {"get": {"responses": {"200": {"description": "list"}}}},
                "/things/{thingId}": {"get": {
                    "parameters": [{"name": "thingId", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "one"}}}},
                "/session": {"get": {"responses": {"200": {"description": "who", "links": {"account": {
                    "operationId": "getAccount", "parameters": {"number": "$response.body#/account/number"}}}}}}},
                "/accounts/{number}": {"get": {"operationId": "getAccount",
                    "parameters": [{"name": "number", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "account"}}}},
                "/invoices": {"get": {
                    "parameters": [{"name": "customerId", "in": "query", "required": true, "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "invoices"}}}}
            }
        });
        mortar_spec::load_bytes(doc.to_string().as_bytes(), "t.json", &NoRefSource).unwrap()
    }

    fn index(api: &Api, path: &str) -> usize {
        api.operations.iter().position(|o| o.path == path).unwrap()
    }

    fn path_of(api: &Api, known: &KnownValues, path: &str) -> String {
        let target = Target::parse("http://127.0.0.1:1/").unwrap();
        operations(api, &target, known)[index(api, path)].target.clone()
    }

    #[test]
    fn listed_ids_fill_the_operation_one_segment_below() {
        let api = api();
        let mut known = KnownValues::default();
        let body = json!({"items": [{"id": "t-7f3a", "customerId": 42}, {"id": "t-0001"}]});
        learn_from_response(&api, index(&api, "/things"), 200, &body, &mut known);
        assert_eq!(path_of(&api, &known, "/things/{thingId}"), "/things/t-7f3a");
        assert_eq!(path_of(&api, &known, "/invoices"), "/invoices?customerId=42");
    }

    #[test]
    fn links_point_at_values_in_the_body() {
        let api = api();
        let mut known = KnownValues::default();
        let body = json!({"account": {"number": "A-991"}, "name": "alice"});
        learn_from_response(&api, index(&api, "/session"), 200, &body, &mut known);
        assert_eq!(path_of(&api, &known, "/accounts/{number}"), "/accounts/A-991");
    }

    #[test]
    fn nothing_learned_leaves_invented_values() {
        let api = api();
        let mut known = KnownValues::default();
        learn_from_response(&api, index(&api, "/things"), 200, &json!([{"name": "no id"}]), &mut known);
        learn_from_response(&api, index(&api, "/session"), 200, &json!({"account": {}}), &mut known);
        assert!(known.by_pointer.is_empty() && known.by_name.is_empty(), "{known:?}");
        assert_ne!(path_of(&api, &known, "/things/{thingId}"), "/things/");
    }
}

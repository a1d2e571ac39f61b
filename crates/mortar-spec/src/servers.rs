//! The spec's own base path and server, and how a scan target replaces them.

use crate::model::{Api, SpecVersion};
use mortar_model::target::{Target, TargetError};
use serde_json::Value;
use url::Url;

/// Normalises a path: leading `/`, no trailing `/` (except the root itself).
fn clean_path(p: &str) -> String {
    let p = p.split(['?', '#']).next().unwrap_or("");
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

/// Replaces `{var}` in a 3.x server URL with each variable's `default`.
fn substitute(url: &str, vars: Option<&Value>) -> String {
    let mut out = url.to_string();
    for (name, var) in vars.and_then(Value::as_object).into_iter().flatten() {
        let default = match var.get("default") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        out = out.replace(&format!("{{{name}}}"), &default);
    }
    out
}

/// `(base_path, server_url)` of a spec located at `doc_uri`.
///
/// Relative 3.x server URLs resolve against the spec's own URL when it was
/// fetched over HTTP(S); for a local file only their path part is kept
/// (`./v2` and `v2` both give `/v2`) since a file has no host.
pub(crate) fn spec_base(root: &Value, version: SpecVersion, doc_uri: &Url) -> (String, Option<String>) {
    let remote = matches!(doc_uri.scheme(), "http" | "https");
    if version == SpecVersion::Swagger2 {
        let base = clean_path(root.get("basePath").and_then(Value::as_str).unwrap_or("/"));
        let host = root.get("host").and_then(Value::as_str).map(str::to_string);
        let scheme = root
            .get("schemes")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .map(str::to_string);
        let server = match host {
            Some(h) => Some(format!(
                "{}://{h}{}",
                scheme.unwrap_or_else(|| if remote { doc_uri.scheme().into() } else { "https".into() }),
                base
            )),
            None if remote => doc_uri.host_str().map(|h| {
                let port = doc_uri.port().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{}://{h}{port}{base}", scheme.unwrap_or_else(|| doc_uri.scheme().into()))
            }),
            None => None,
        };
        return (base, server.map(|s| s.trim_end_matches('/').to_string()));
    }
    let first = root.get("servers").and_then(Value::as_array).and_then(|a| a.first());
    let Some(server) = first else { return ("/".into(), if remote { origin(doc_uri) } else { None }) };
    let raw = substitute(server.get("url").and_then(Value::as_str).unwrap_or("/"), server.get("variables"));
    if let Ok(abs) = Url::parse(&raw)
        && abs.has_host()
    {
        return (clean_path(abs.path()), Some(abs.to_string().trim_end_matches('/').to_string()));
    }
    if remote && let Ok(joined) = doc_uri.join(&raw) {
        return (clean_path(joined.path()), Some(joined.to_string().trim_end_matches('/').to_string()));
    }
    let rel = raw.trim_start_matches("./");
    (clean_path(rel), None)
}

fn origin(u: &Url) -> Option<String> {
    let host = u.host_str()?;
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{}://{host}{port}", u.scheme()))
}

/// The scan target for `api` at `target_url`: the target's scheme, host and
/// port always win; the spec's base path is kept unless the target URL has a
/// path of its own (other than `/`).
pub fn target_for(api: &Api, target_url: &str) -> Result<Target, TargetError> {
    let mut t = Target::parse(target_url)?;
    if t.base_path == "/" && api.base_path != "/" {
        t.base_path = api.base_path.clone();
        t.url = format!("{}://{}{}", t.scheme, target_authority(&t), t.base_path);
    }
    Ok(t)
}

fn target_authority(t: &Target) -> String {
    mortar_model::target::format_authority(&t.scheme, &t.host, t.port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn file() -> Url {
        Url::parse("file:///specs/api.yaml").unwrap()
    }

    #[test]
    fn server_variants() {
        let v3 = |servers: Value, at: &Url| {
            spec_base(&json!({"openapi": "3.0.3", "servers": servers}), SpecVersion::OpenApi30, at)
        };
        assert_eq!(
            v3(json!([{"url": "https://x.example/api/v1/"}]), &file()),
            ("/api/v1".into(), Some("https://x.example/api/v1".into()))
        );
        assert_eq!(v3(json!([{"url": "/api"}]), &file()), ("/api".into(), None));
        assert_eq!(v3(json!([{"url": "v2"}]), &file()), ("/v2".into(), None));
        let remote = Url::parse("https://h.example:8443/docs/openapi.json").unwrap();
        assert_eq!(v3(json!([{"url": "../api"}]), &remote), ("/api".into(), Some("https://h.example:8443/api".into())));
        assert_eq!(v3(json!([]), &remote), ("/".into(), Some("https://h.example:8443".into())));
        assert_eq!(
            v3(
                json!([{"url": "{scheme}://{host}/base/{version}", "variables": {"scheme": {"default": "http"}, "host": {"default": "a.example:8080"}, "version": {"default": "v3"}}}]),
                &file()
            ),
            ("/base/v3".into(), Some("http://a.example:8080/base/v3".into()))
        );
        let v2 = spec_base(
            &json!({"swagger": "2.0", "host": "h.example", "basePath": "/v1/", "schemes": ["http"]}),
            SpecVersion::Swagger2,
            &file(),
        );
        assert_eq!(v2, ("/v1".into(), Some("http://h.example/v1".into())));
    }
}

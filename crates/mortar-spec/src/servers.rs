//! The spec's own base path and server, and how a scan target replaces them.

use crate::model::{Api, SpecVersion};
use mortar_model::target::{Target, TargetError};
use serde::Serialize;
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

/// One entry of the description's `servers` (Swagger 2.0: `host` and
/// `basePath`), server variables replaced by their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Server {
    /// The URL as written, variables substituted.
    pub url: String,
    /// `scheme://host[:port]` (host lower-case) when the URL is absolute.
    pub origin: Option<String>,
    /// Its path: starts with `/`, no trailing `/` unless it is `/`.
    pub path: String,
}

impl Server {
    /// An entry from its URL. A relative URL (``, `/`, `/api/v3`, `v1`,
    /// `../api`) has no origin: it is resolved against the scan target's
    /// origin, never against where the description was found (an empty URL
    /// joined to `https://h/openapi.json` would put every path under the
    /// document itself).
    pub fn parse(raw: &str) -> Server {
        let url = raw.trim().to_string();
        if let Ok(abs) = Url::parse(&url)
            && abs.has_host()
        {
            return Server { origin: origin(&abs), path: clean_path(abs.path()), url };
        }
        // Normalise `./`, `../` and a missing leading slash against a root.
        let root = Url::parse("http://target.invalid/").expect("a valid constant URL");
        let path = root.join(&url).map(|u| clean_path(u.path())).unwrap_or_else(|_| clean_path(&url));
        Server { origin: None, path, url }
    }

    /// The absolute URL, when the entry has an origin.
    pub fn absolute(&self) -> Option<String> {
        self.origin.as_ref().map(|o| if self.path == "/" { o.clone() } else { format!("{o}{}", self.path) })
    }
}

/// The description's servers, in order.
pub(crate) fn spec_servers(root: &Value, version: SpecVersion) -> Vec<Server> {
    if version == SpecVersion::Swagger2 {
        let base = root.get("basePath").and_then(Value::as_str).unwrap_or("/");
        let host = root.get("host").and_then(Value::as_str).filter(|h| !h.is_empty());
        let scheme = root
            .get("schemes")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_str)
            .unwrap_or("https");
        let raw = match host {
            Some(h) => format!("{scheme}://{h}{}", clean_path(base)),
            None => base.to_string(),
        };
        return vec![Server::parse(&raw)];
    }
    root.get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|server| {
            let raw = server.get("url").and_then(Value::as_str).unwrap_or("/");
            Server::parse(&substitute(raw, server.get("variables")))
        })
        .collect()
}

fn origin(u: &Url) -> Option<String> {
    let host = u.host_str()?.to_ascii_lowercase();
    let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
    Some(format!("{}://{host}{port}", u.scheme()))
}

/// Which base path a scan of the description uses, and why (the dry run
/// prints it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerChoice {
    /// Index into [`Api::servers`] of the entry used, if one was.
    pub index: Option<usize>,
    /// The base path requests go under.
    pub base_path: String,
    /// Why, in words.
    pub reason: String,
    /// A server host named by the description that is not the target's: never contacted.
    pub out_of_scope: Option<String>,
}

/// A description resolved against a scan target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// The target: its scheme, host and port, with the chosen base path.
    pub target: Target,
    /// Which server entry gave the base path.
    pub choice: ServerChoice,
}

/// Chooses the server entry for a target at the root: one on the target's
/// own host and port first, then the first relative one (resolved against the
/// target origin), then the first absolute one elsewhere (its path is used on
/// the target; its host is out of scope), else the root.
pub fn choose_server(api: &Api, target: &Target) -> ServerChoice {
    let unbracket = |h: &str| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let same_host = |s: &Server| {
        s.origin
            .as_deref()
            .and_then(|o| Url::parse(o).ok())
            .and_then(|u| u.host_str().map(|h| unbracket(h) == unbracket(&target.host)))
            .unwrap_or(false)
    };
    let pick = |index: usize, reason: String, out_of_scope: Option<String>| ServerChoice {
        index: Some(index),
        base_path: api.servers[index].path.clone(),
        reason,
        out_of_scope,
    };
    if let Some(i) = api.servers.iter().position(same_host) {
        return pick(i, format!("servers[{i}] `{}` is on the target's host", api.servers[i].url), None);
    }
    if let Some(i) = api.servers.iter().position(|s| s.origin.is_none()) {
        return pick(
            i,
            format!("servers[{i}] `{}` is relative: resolved against the target origin", api.servers[i].url),
            None,
        );
    }
    if let Some(server) = api.servers.first() {
        let host = server.origin.clone().unwrap_or_default();
        return pick(
            0,
            format!(
                "servers[0] `{}` is on another host ({host}), which is out of scope and not contacted: its path is used on the target",
                server.url
            ),
            Some(host),
        );
    }
    ServerChoice {
        index: None,
        base_path: "/".into(),
        reason: "the description has no servers: paths start at the target's root".into(),
        out_of_scope: None,
    }
}

/// The scan target for `api` at `target_url`, and which server gave its base
/// path: the target's scheme, host and port always win; a path of its own
/// (other than `/`) wins over every server entry, unless the description's
/// paths already begin with it.
pub fn resolve_target(api: &Api, target_url: &str) -> Result<ResolvedTarget, TargetError> {
    let mut t = Target::parse(target_url)?;
    let by_servers = choose_server(api, &t);
    let choice = if t.base_path == "/" {
        by_servers
    } else {
        let (base_path, reason) = if paths_begin_with(api, &t.base_path) {
            (
                "/".to_string(),
                format!("the description's paths already begin with the target URL's path `{}`", t.base_path),
            )
        } else {
            (
                t.base_path.clone(),
                format!("the target URL's own path `{}` wins over the description's servers", t.base_path),
            )
        };
        ServerChoice { index: None, base_path, reason, out_of_scope: by_servers.out_of_scope }
    };
    if choice.base_path != t.base_path {
        t.base_path = choice.base_path.clone();
        t.url = format!("{}://{}{}", t.scheme, target_authority(&t), t.base_path);
    }
    Ok(ResolvedTarget { target: t, choice })
}

/// Whether every operation's path already starts with `base` (a whole
/// segment): then the paths are written from the root, and putting `base` in
/// front again would ask for `/api/api/...`.
pub fn paths_begin_with(api: &Api, base: &str) -> bool {
    let base = base.trim_end_matches('/');
    !base.is_empty()
        && !api.operations.is_empty()
        && api
            .operations
            .iter()
            .all(|op| op.path.strip_prefix(base).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// The scan target for `api` at `target_url` (see [`resolve_target`]).
pub fn target_for(api: &Api, target_url: &str) -> Result<Target, TargetError> {
    resolve_target(api, target_url).map(|r| r.target)
}

fn target_authority(t: &Target) -> String {
    mortar_model::target::format_authority(&t.scheme, &t.host, t.port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v3(servers: Value) -> Vec<Server> {
        spec_servers(&json!({"openapi": "3.0.3", "servers": servers}), SpecVersion::OpenApi30)
    }

    #[test]
    fn server_entries_parse_as_written() {
        let s = v3(json!([{"url": "https://X.example/api/v1/"}]));
        assert_eq!((s[0].origin.as_deref(), s[0].path.as_str()), (Some("https://x.example"), "/api/v1"));
        assert_eq!(s[0].absolute().as_deref(), Some("https://x.example/api/v1"));
        for (raw, path) in
            [("", "/"), ("/", "/"), ("/api", "/api"), ("v2", "/v2"), ("./api/v2", "/api/v2"), ("../api", "/api")]
        {
            let s = v3(json!([{ "url": raw }]));
            assert_eq!((s[0].origin.as_deref(), s[0].path.as_str()), (None, path), "{raw:?}");
        }
        let vars = v3(json!([{"url": "{scheme}://{host}/base/{version}", "variables": {
            "scheme": {"default": "http"}, "host": {"default": "a.example:8080"}, "version": {"default": "v3"}}}]));
        assert_eq!(vars[0].absolute().as_deref(), Some("http://a.example:8080/base/v3"));
        assert!(v3(json!([])).is_empty());
        let v2 = spec_servers(
            &json!({"swagger": "2.0", "host": "h.example", "basePath": "/v1/", "schemes": ["http"]}),
            SpecVersion::Swagger2,
        );
        assert_eq!(v2[0].absolute().as_deref(), Some("http://h.example/v1"));
        let v2_relative = spec_servers(&json!({"swagger": "2.0", "basePath": "/api"}), SpecVersion::Swagger2);
        assert_eq!((v2_relative[0].origin.as_deref(), v2_relative[0].path.as_str()), (None, "/api"));
    }
}

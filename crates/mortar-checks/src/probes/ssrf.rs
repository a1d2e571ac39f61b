//! Server-side request forgery, proven with mortar's own canary.
//!
//! URL-like inputs (query parameters named like URLs or documented with
//! `format: uri`, values that already are URLs; in the active profile also
//! the string properties of JSON bodies) get a canary URL with a fresh token,
//! one input per request. A request for that token at the canary proves the
//! server fetched what the caller named: `ssrf.canary-fetch`. The canary
//! answers the first fetch with a redirect; following it is what defeats
//! host allow-lists: `unsafe-consumption.redirect-followed`.
//!
//! This module is the probe session both checks judge (once per scan,
//! through `ScanContext::shared`).
//!
//! No payload names anything but the canary: never the target's own host,
//! never another address. Without a canary the target can reach (a remote
//! target and no `--canary-listen`), nothing is sent and coverage says why.

use crate::context::{ScanContext, ScanOperation};
use mortar_engine::{Exchange, Request};
use mortar_model::{Endpoint, Profile};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The check whose requests the probes count as, whichever check starts the session.
const TAG: &str = "ssrf.canary-fetch";
/// How long the canary is watched after the last probe.
pub(crate) const WAIT: Duration = Duration::from_secs(3);
/// Most inputs probed per scan.
const MAX_PROBES: usize = 30;

/// Names (lower case, `_`/`-` removed) of inputs that take a URL.
const URL_NAMES: &[&str] = &[
    "link",
    "href",
    "src",
    "source",
    "callback",
    "webhook",
    "hook",
    "feed",
    "endpoint",
    "image",
    "avatar",
    "picture",
    "icon",
    "fetch",
    "proxy",
    "remote",
    "target",
    "dest",
    "destination",
    "site",
    "website",
    "load",
];

fn url_like_name(name: &str) -> bool {
    let n: String = name.chars().filter(|c| !matches!(c, '_' | '-')).flat_map(char::to_lowercase).collect();
    n.contains("url") || n.contains("uri") || n.ends_with("link") || URL_NAMES.contains(&n.as_str())
}

fn url_value(value: &str) -> bool {
    value.starts_with("http://") || value.starts_with("https://")
}

/// Where a canary URL goes in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    Query(String),
    Body(String),
}

impl Input {
    /// Where the URL went, in words.
    pub(crate) fn describe(&self) -> String {
        match self {
            Input::Query(n) => format!("query parameter `{n}`"),
            Input::Body(n) => format!("body property `{n}`"),
        }
    }

    /// The input's name (the finding component).
    pub(crate) fn name(&self) -> &str {
        match self {
            Input::Query(n) | Input::Body(n) => n,
        }
    }
}

/// One input given a canary URL, and what came of it.
pub(crate) struct Probe {
    /// The operation probed.
    pub endpoint: Endpoint,
    /// The input given the URL.
    pub input: Input,
    token: String,
    /// The canary URL it was given.
    pub url: String,
    /// The target's answer to the probe.
    pub exchange: Option<Arc<Exchange>>,
    /// What the canary received for the probe's token.
    pub hits: Vec<super::canary::Hit>,
}

/// Every probe of the scan, or why none was sent.
pub(crate) struct Outcome {
    /// The probes, or why none was sent (the checks' skip reason).
    pub probes: Result<Vec<Probe>, String>,
}

fn query_pairs(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pairs = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    (path.to_string(), pairs)
}

/// The URL-like inputs of an operation the profile lets mortar fill.
pub(crate) fn inputs(op: &ScanOperation, active: bool) -> Vec<Input> {
    if !op.is_safe() && !active {
        return Vec::new();
    }
    let mut out: Vec<Input> = Vec::new();
    let (_, pairs) = query_pairs(&op.target);
    for (name, value) in &pairs {
        if url_like_name(name) || url_value(&super::percent_decode(value)) {
            out.push(Input::Query(name.clone()));
        }
    }
    for (name, format) in &op.described.query_parameters {
        let uri = format.as_deref().is_some_and(|f| matches!(f, "uri" | "url" | "uri-reference" | "iri"));
        if (uri || url_like_name(name)) && !out.contains(&Input::Query(name.clone())) {
            out.push(Input::Query(name.clone()));
        }
    }
    if active && let Some(Ok(Value::Object(body))) = op.body.as_ref().map(|b| serde_json::from_slice::<Value>(b)) {
        let formats = op.described.request_schema.as_ref().and_then(|s| s.get("properties")).cloned();
        for (name, value) in &body {
            let uri = formats
                .as_ref()
                .and_then(|p| p.get(name))
                .and_then(|p| p.get("format"))
                .and_then(Value::as_str)
                .is_some_and(|f| matches!(f, "uri" | "url" | "uri-reference" | "iri"));
            if value.is_string() && (uri || url_like_name(name) || value.as_str().is_some_and(url_value)) {
                out.push(Input::Body(name.clone()));
            }
        }
    }
    out
}

/// The operation's request with one input set to `url`.
fn probe_request(ctx: &ScanContext, op: &ScanOperation, input: &Input, url: &str) -> Request {
    let identity = ctx.primary_identity();
    let mut request = ctx.request(&op.endpoint.method, &op.endpoint).identity(identity);
    match input {
        Input::Query(name) => {
            let (path, mut pairs) = query_pairs(&op.target);
            pairs.retain(|(k, _)| k != name);
            pairs.push((name.clone(), super::percent_encode(url)));
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request.target = format!("{path}?{}", query.join("&"));
        }
        Input::Body(name) => {
            if let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(&request.body) {
                body.insert(name.clone(), Value::from(url));
                request.body = serde_json::to_vec(&body).unwrap_or_default();
            }
        }
    }
    request
}

fn token() -> String {
    use sha2::Digest;
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let digest = sha2::Sha256::digest(format!("mortar-canary-{nanos}-{n}-{}", std::process::id()).as_bytes());
    digest.iter().take(10).map(|b| format!("{b:02x}")).collect()
}

/// The scan's SSRF probes: sent by the first check that asks, shared by both.
pub(crate) async fn outcome(ctx: &ScanContext) -> Arc<Outcome> {
    ctx.shared(|| probe_all(ctx)).await
}

/// Gives every URL-like input a canary URL, once per scan.
async fn probe_all(ctx: &ScanContext) -> Outcome {
    let active = ctx.settings.profile == Profile::Active;
    let mut planned = Vec::new();
    for op in &ctx.operations {
        for input in inputs(op, active) {
            planned.push((op, input));
        }
    }
    planned.truncate(MAX_PROBES);
    if planned.is_empty() {
        return Outcome { probes: Err("no operation takes a URL-like input".into()) };
    }
    // Listening only now, for as long as the probes need, and only when there are some.
    let canary = match ctx.settings.canary.start(&ctx.target.host).await {
        Ok(c) => c,
        Err(why) => return Outcome { probes: Err(format!("SSRF not tested: {why}")) },
    };
    let sends = planned.into_iter().map(|(op, input)| {
        let canary = canary.clone();
        async move {
            let token = token();
            let url = canary.url(&token);
            let request = probe_request(ctx, op, &input, &url);
            let exchange = ctx.send(TAG, Some(&op.endpoint), request).await.ok().map(Arc::new);
            Probe { endpoint: op.endpoint.clone(), input, token, url, exchange, hits: Vec::new() }
        }
    });
    let mut probes = futures::future::join_all(sends).await;
    let tokens: Vec<String> = probes.iter().map(|p| p.token.clone()).collect();
    canary.wait_for(&tokens, WAIT).await;
    // A follow comes right after the first fetch: give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for probe in &mut probes {
        probe.hits = canary.hits(&probe.token);
    }
    Outcome { probes: Ok(probes) }
}

/// One canary hit in words: method, peer, User-Agent.
pub(crate) fn hit_text(hit: &super::canary::Hit) -> String {
    format!(
        "{} from {}{}",
        hit.method,
        hit.peer.ip(),
        hit.user_agent.as_ref().map(|ua| format!(" (User-Agent: {ua})")).unwrap_or_default()
    )
}

/// The probe's curl line.
pub(crate) fn reproduce(ctx: &ScanContext, probe: &Probe) -> String {
    let op = ctx.operation(&probe.endpoint);
    match op {
        Some(op) => ctx.curl(&probe_request(ctx, op, &probe.input, &probe.url)),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_inputs_come_from_names_formats_and_values() {
        let mut op = ScanOperation::bare("GET", "/preview");
        op.target = "/preview?q=abc&next=%2Fhome&img=https%3A%2F%2Fcdn.example%2Fa.png".into();
        op.described.query_parameters =
            vec![("q".into(), None), ("feed_url".into(), None), ("location".into(), Some("uri".into()))];
        let names: Vec<String> = inputs(&op, false).iter().map(|i| i.describe()).collect();
        assert_eq!(names, vec!["query parameter `img`", "query parameter `feed_url`", "query parameter `location`"]);
    }

    #[test]
    fn bodies_are_probed_only_in_the_active_profile() {
        let mut op = ScanOperation::bare("POST", "/webhooks");
        op.body = Some(br#"{"callback_url": "mortar", "name": "mortar"}"#.to_vec());
        assert!(inputs(&op, false).is_empty());
        assert_eq!(inputs(&op, true), vec![Input::Body("callback_url".into())]);
    }

    #[test]
    fn the_canary_url_replaces_the_input_encoded() {
        let (path, pairs) = query_pairs("/p?a=1&url=x");
        assert_eq!(path, "/p");
        assert_eq!(pairs.len(), 2);
        assert_eq!(
            crate::probes::percent_encode("http://127.0.0.1:9/mortar-canary/ab"),
            "http%3A%2F%2F127.0.0.1%3A9%2Fmortar-canary%2Fab"
        );
        assert_eq!(crate::probes::percent_decode("https%3A%2F%2Fx"), "https://x");
    }
}

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
//! No payload names anything but the canary: never the target's own host,
//! never another address. Without a canary the target can reach (a remote
//! target and no `--canary-listen`), nothing is sent and coverage says why.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::spec::defined_at;
use mortar_engine::{Exchange, Request};
use mortar_model::{Category, CheckInfo, Endpoint, Observation, Profile, References, Remediation, Severity};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The SSRF check.
pub static SSRF: Check = Check {
    info: CheckInfo {
        id: "ssrf.canary-fetch",
        category: Category::Ssrf,
        severity: Severity::High,
        profile: Profile::Standard,
        title: "Server-side request forgery: the server fetches caller-supplied URLs",
        description: "Gives URL-like inputs (query parameters named like URLs or documented as `format: uri`, \
            parameters whose value is a URL; in the active profile also string properties of JSON bodies) the \
            URL of a canary HTTP listener mortar runs, with a fresh token per input, and waits up to 3 s for the \
            server to fetch it. A fetch of the token is the proof. The canary runs on loopback beside a \
            loopback target, or where --canary-listen/--canary-url say; without one SSRF is not tested. No \
            payload names any other address.",
        remediation: Remediation {
            summary: "Fetch only what the feature needs: parse the URL, allow a fixed list of schemes and hosts, \
                resolve the host and refuse private, loopback and link-local addresses (check the address you \
                connect to, not the name), and do not follow redirects.",
            actix_web: "Validate with `url::Url::parse`, match `host_str()` against an allow-list, and fetch with a \
                `reqwest::Client` built with `.redirect(reqwest::redirect::Policy::none())` and a resolver or \
                connector that refuses non-public IPs; return 400 from the handler for anything else.",
            axum: "Validate the `Query`/`Json` URL with `url::Url::parse` against an allow-list of hosts before the \
                handler fetches, use a shared `reqwest::Client` with `redirect::Policy::none()` and a DNS resolver \
                that drops private and loopback addresses, and answer `StatusCode::BAD_REQUEST` otherwise.",
        },
        references: References { owasp_api: &["API7:2023"], cwe: &["CWE-918"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run_ssrf(ctx, reporter)),
};

/// The redirect-following check.
pub static REDIRECT_FOLLOWED: Check = Check {
    info: CheckInfo {
        id: "unsafe-consumption.redirect-followed",
        category: Category::UnsafeConsumption,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "Server-side fetch follows redirects from a caller-supplied URL",
        description: "From the ssrf.canary-fetch probes: the canary answers the first fetch of a token with a \
            redirect to a second URL of its own. A fetch of that second URL shows the server follows redirects \
            from third-party answers, which lets a URL that passes a host allow-list lead anywhere (internal \
            services, cloud metadata).",
        remediation: Remediation {
            summary: "Treat what a third party answers as untrusted: disable redirects in server-side fetches, or \
                validate every hop's scheme, host and resolved address against the same rules as the first URL.",
            actix_web: "Build the outgoing `reqwest::Client` with `.redirect(reqwest::redirect::Policy::none())` (or a \
                custom policy that re-checks each `attempt.url()` against the allow-list) and treat 3xx as a failure.",
            axum: "Build the shared `reqwest::Client` in the app state with `.redirect(reqwest::redirect::Policy::none())` \
                (or a custom policy that re-validates each hop) and treat 3xx answers as failures in the handler.",
        },
        references: References { owasp_api: &["API10:2023", "API7:2023"], cwe: &["CWE-918", "CWE-601"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run_redirect(ctx, reporter)),
};

/// How long the canary is watched after the last probe.
const WAIT: Duration = Duration::from_secs(3);
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
    fn describe(&self) -> String {
        match self {
            Input::Query(n) => format!("query parameter `{n}`"),
            Input::Body(n) => format!("body property `{n}`"),
        }
    }

    fn name(&self) -> &str {
        match self {
            Input::Query(n) | Input::Body(n) => n,
        }
    }
}

/// One input given a canary URL, and what came of it.
pub(crate) struct Probe {
    endpoint: Endpoint,
    input: Input,
    token: String,
    url: String,
    exchange: Option<Arc<Exchange>>,
    hits: Vec<crate::probes::canary::Hit>,
}

/// Every probe of the scan, or why none was sent.
pub(crate) struct Outcome {
    probes: Result<Vec<Probe>, String>,
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

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL-like inputs of an operation the profile lets mortar fill.
pub(crate) fn inputs(op: &ScanOperation, active: bool) -> Vec<Input> {
    if !op.is_safe() && !active {
        return Vec::new();
    }
    let mut out: Vec<Input> = Vec::new();
    let (_, pairs) = query_pairs(&op.target);
    for (name, value) in &pairs {
        if url_like_name(name) || url_value(&percent_decoded(value)) {
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
            pairs.push((name.clone(), percent_encode(url)));
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

async fn outcome(ctx: &ScanContext) -> Arc<Outcome> {
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
            let exchange = ctx.send(SSRF.info.id, Some(&op.endpoint), request).await.ok().map(Arc::new);
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

fn hit_text(hit: &crate::probes::canary::Hit) -> String {
    format!(
        "{} from {}{}",
        hit.method,
        hit.peer.ip(),
        hit.user_agent.as_ref().map(|ua| format!(" (User-Agent: {ua})")).unwrap_or_default()
    )
}

fn reproduce(ctx: &ScanContext, probe: &Probe) -> String {
    let op = ctx.operation(&probe.endpoint);
    match op {
        Some(op) => ctx.curl(&probe_request(ctx, op, &probe.input, &probe.url)),
        None => String::new(),
    }
}

fn place(ctx: &ScanContext, endpoint: &Endpoint) -> String {
    ctx.operation(endpoint)
        .filter(|o| o.source.is_some())
        .map(|o| format!(" (defined at {})", defined_at(o)))
        .unwrap_or_default()
}

async fn run_ssrf(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let outcome = outcome(&ctx).await;
    let probes = match &outcome.probes {
        Ok(p) => p,
        Err(why) => return CheckVerdict::Skipped(why.clone()),
    };
    for probe in probes.iter().filter(|p| !p.hits.is_empty()) {
        let Some(exchange) = &probe.exchange else { continue };
        let first = &probe.hits[0];
        let note = format!(
            "The request gave the {} the canary URL {}; the canary then received {}.",
            probe.input.describe(),
            probe.url,
            hit_text(first)
        );
        let mut observation = Observation::confirmed(
            probe.endpoint.clone(),
            format!(
                "{} {}{} fetched the URL given in its {}: mortar's canary received a request for that probe's \
                 token ({}) after the call. Whoever calls this operation can make the server send requests to \
                 any address it can reach. To reproduce, put a URL you watch in place of the canary's (which \
                 stopped with the scan).",
                probe.endpoint.method,
                probe.endpoint.path,
                place(&ctx, &probe.endpoint),
                probe.input.describe(),
                hit_text(first)
            ),
            vec![ctx.evidence(exchange, note)],
            reproduce(&ctx, probe),
        );
        observation.component = Some(probe.input.name().to_string());
        reporter.observe(observation);
    }
    let hit = probes.iter().filter(|p| !p.hits.is_empty()).count();
    CheckVerdict::Ran(format!(
        "{} URL-like input(s) given a canary URL, {hit} fetched (waited up to {} s)",
        probes.len(),
        WAIT.as_secs()
    ))
}

async fn run_redirect(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let outcome = outcome(&ctx).await;
    let probes = match &outcome.probes {
        Ok(p) => p,
        Err(why) => return CheckVerdict::Skipped(why.clone()),
    };
    let fetched: Vec<&Probe> = probes.iter().filter(|p| !p.hits.is_empty()).collect();
    if fetched.is_empty() {
        return CheckVerdict::Skipped("no server-side fetch was seen to judge (see ssrf.canary-fetch)".into());
    }
    for probe in &fetched {
        let Some(followed) = probe.hits.iter().find(|h| h.followed) else { continue };
        let Some(exchange) = &probe.exchange else { continue };
        let mut observation = Observation::confirmed(
            probe.endpoint.clone(),
            format!(
                "{} {} fetched the canary URL given in its {} and followed the canary's redirect to a second \
                 URL ({}). A URL that passes an allow-list can therefore lead the server anywhere the redirect \
                 says.",
                probe.endpoint.method,
                probe.endpoint.path,
                probe.input.describe(),
                hit_text(followed)
            ),
            vec![ctx.evidence(
                exchange,
                format!("The canary answered {} with a 302 and then received the redirect's target.", probe.url),
            )],
            reproduce(&ctx, probe),
        );
        observation.component = Some(probe.input.name().to_string());
        reporter.observe(observation);
    }
    CheckVerdict::Ran(format!("{} server-side fetch(es) judged for redirect following", fetched.len()))
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
            percent_encode("http://127.0.0.1:9/mortar-canary/ab"),
            "http%3A%2F%2F127.0.0.1%3A9%2Fmortar-canary%2Fab"
        );
        assert_eq!(percent_decoded("https%3A%2F%2Fx"), "https://x");
    }
}

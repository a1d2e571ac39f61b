//! `mortar race`: one synchronized burst, from a raw HTTP file, a curl command
//! line or a URL, and what came back: statuses, successes, spread.

use crate::cli::{RaceArgs, ScanArgs};
use crate::error::{UsageError, exit};
use crate::{Invocation, emit, error_line, identity};
use mortar_engine::{BurstMode, BurstOptions, BurstReport, Engine, EngineConfig, Origin, Request, TlsSettings};
use mortar_model::Target;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// A request template: everything but where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Method.
    pub method: String,
    /// Absolute URL, when the source names one.
    pub url: Option<String>,
    /// Request target (path and query), when given without a URL (raw files).
    pub target: Option<String>,
    /// Host header of a raw file.
    pub host: Option<String>,
    /// Headers (Host and Content-Length are left to the engine).
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Parses a raw HTTP/1.1 request (bare `\n` line ends accepted, as editors write them).
pub fn parse_raw(bytes: &[u8], what: &str) -> Result<Template, UsageError> {
    let (head, body) = match find(bytes, b"\r\n\r\n") {
        Some(i) => (&bytes[..i + 4], &bytes[i + 4..]),
        None => match find(bytes, b"\n\n") {
            Some(i) => (&bytes[..i + 2], &bytes[i + 2..]),
            None => (bytes, &b""[..]),
        },
    };
    let mut normalized = Vec::with_capacity(head.len() + 16);
    for line in head.split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        normalized.extend_from_slice(line);
        normalized.extend_from_slice(b"\r\n");
    }
    while normalized.ends_with(b"\r\n\r\n\r\n") {
        normalized.truncate(normalized.len() - 2);
    }
    if !normalized.ends_with(b"\r\n\r\n") {
        normalized.extend_from_slice(b"\r\n");
    }
    let mut headers = [httparse::EMPTY_HEADER; 100];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(&normalized) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => {
            return Err(UsageError::new(format!(
                "{what}: not an HTTP request (expected `METHOD /path HTTP/1.1` and headers)"
            )));
        }
    }
    let method = request.method.unwrap_or("GET").to_string();
    let path = request.path.unwrap_or("/").to_string();
    let mut host = None;
    let mut kept = Vec::new();
    for h in request.headers.iter() {
        if h.name.eq_ignore_ascii_case("host") {
            host = Some(String::from_utf8_lossy(h.value).trim().to_string());
        } else if !h.name.eq_ignore_ascii_case("content-length") {
            kept.push((h.name.to_string(), h.value.to_vec()));
        }
    }
    let (url, target) = if path.starts_with("http://") || path.starts_with("https://") {
        (Some(path), None)
    } else {
        (None, Some(path))
    };
    Ok(Template { method, url, target, host, headers: kept, body: body.to_vec() })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Splits a command line as a POSIX shell would (quotes, backslashes, line continuations).
pub fn shell_split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => {}
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Parses a curl command line into a template (the options that shape a request).
pub fn parse_curl(line: &str) -> Result<Template, UsageError> {
    let bad = |m: String| UsageError::new(format!("--curl: {m}"));
    let words = shell_split(line).map_err(bad)?;
    let mut words = words.into_iter().peekable();
    if words.peek().map(String::as_str) == Some("curl") {
        words.next();
    }
    let mut method = None;
    let mut url = None;
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let mut data: Vec<String> = Vec::new();
    let mut head = false;
    while let Some(word) = words.next() {
        let mut value = |name: &str| words.next().ok_or_else(|| bad(format!("{name} needs a value")));
        match word.as_str() {
            "-X" | "--request" => method = Some(value(&word)?),
            "-H" | "--header" => {
                let h = value(&word)?;
                let (name, v) = h.split_once(':').ok_or_else(|| bad(format!("header `{h}` has no colon")))?;
                headers.push((name.trim().to_string(), v.trim_start().as_bytes().to_vec()));
            }
            "-d" | "--data" | "--data-ascii" | "--data-binary" => {
                let d = value(&word)?;
                data.push(match d.strip_prefix('@') {
                    Some(file) => String::from_utf8_lossy(
                        &std::fs::read(file).map_err(|e| bad(format!("cannot read {file}: {e}")))?,
                    )
                    .into_owned(),
                    None => d,
                });
            }
            "--data-raw" => data.push(value(&word)?),
            "--json" => {
                data.push(value(&word)?);
                headers.push(("Content-Type".into(), b"application/json".to_vec()));
                headers.push(("Accept".into(), b"application/json".to_vec()));
            }
            "-A" | "--user-agent" => headers.push(("User-Agent".into(), value(&word)?.into_bytes())),
            "-b" | "--cookie" => headers.push(("Cookie".into(), value(&word)?.into_bytes())),
            "-e" | "--referer" => headers.push(("Referer".into(), value(&word)?.into_bytes())),
            "-u" | "--user" => {
                use base64::Engine as _;
                let creds = value(&word)?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(creds);
                headers.push(("Authorization".into(), format!("Basic {encoded}").into_bytes()));
            }
            "--url" => url = Some(value(&word)?),
            "-I" | "--head" => head = true,
            // Options that change nothing about the request itself.
            "-s"
            | "--silent"
            | "-S"
            | "--show-error"
            | "-i"
            | "--include"
            | "-v"
            | "--verbose"
            | "-k"
            | "--insecure"
            | "--compressed"
            | "--path-as-is"
            | "-L"
            | "--location"
            | "-sS"
            | "-fsSL"
            | "-f"
            | "--fail"
            | "--http1.1"
            | "--http2"
            | "--http2-prior-knowledge" => {}
            w if w.starts_with('-') => return Err(bad(format!("unsupported curl option `{w}`"))),
            _ => url = Some(word),
        }
    }
    let url = url.ok_or_else(|| bad("no URL".into()))?;
    let body = data.join("&").into_bytes();
    if !body.is_empty() && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
        headers.push(("Content-Type".into(), b"application/x-www-form-urlencoded".to_vec()));
    }
    let method = method.unwrap_or_else(|| {
        if head {
            "HEAD".into()
        } else if body.is_empty() {
            "GET".into()
        } else {
            "POST".into()
        }
    });
    Ok(Template { method, url: Some(url), target: None, host: None, headers, body })
}

/// Where a template goes and what it sends.
fn resolve(template: &Template, fallback_url: Option<&str>) -> Result<(Origin, Request), UsageError> {
    let (target, path) = match (&template.url, &template.target) {
        (Some(url), _) => {
            let t = Target::parse(url).map_err(|e| UsageError::new(e.to_string()))?;
            let path = path_and_query(url);
            (t, path)
        }
        (None, Some(path)) => {
            let base = match (fallback_url, &template.host) {
                (Some(url), _) => url.to_string(),
                (None, Some(host)) => format!("https://{host}/"),
                (None, None) => {
                    return Err(UsageError::new("the request file has no Host header: give the target URL too"));
                }
            };
            (Target::parse(&base).map_err(|e| UsageError::new(e.to_string()))?, path.clone())
        }
        (None, None) => return Err(UsageError::new("nothing to send")),
    };
    let origin = Origin::of(&target);
    let mut request = Request::new(template.method.clone(), &origin, path).body(template.body.clone());
    request.headers = template.headers.clone();
    Ok((origin, request))
}

/// The path and query of an absolute URL, verbatim.
fn path_and_query(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('?') => format!("/{}", &rest[i..]),
        Some(i) => rest[i..].split('#').next().unwrap_or("/").to_string(),
        None => "/".to_string(),
    }
}

/// Status codes that count as success: `2xx`, `200,201`, ...
fn success_matcher(spec: &str) -> Result<impl Fn(u16) -> bool, UsageError> {
    let rules = success_ranges(spec, "--success")?;
    Ok(move |status: u16| rules.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status)))
}

/// Parses `2xx,409` into inclusive status ranges.
pub fn success_ranges(spec: &str, what: &str) -> Result<Vec<(u16, u16)>, UsageError> {
    let mut rules: Vec<(u16, u16)> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let lower = part.to_ascii_lowercase();
        if let Some(class) = lower.strip_suffix("xx") {
            let c: u16 = class
                .parse()
                .ok()
                .filter(|c| (1..=5).contains(c))
                .ok_or_else(|| UsageError::new(format!("{what}: `{part}` is not a status class")))?;
            rules.push((c * 100, c * 100 + 99));
        } else {
            let code: u16 = part
                .parse()
                .ok()
                .filter(|c| (100..=599).contains(c))
                .ok_or_else(|| UsageError::new(format!("{what}: `{part}` is not a status")))?;
            rules.push((code, code));
        }
    }
    if rules.is_empty() {
        return Err(UsageError::new(format!("{what}: no status given")));
    }
    Ok(rules)
}

/// What the command prints, computed from a burst.
#[derive(Debug, serde::Serialize)]
pub struct RaceSummary {
    /// Engine used.
    pub engine: String,
    /// Protocol spoken.
    pub protocol: String,
    /// Requests sent.
    pub requests: usize,
    /// Requests per batch.
    pub batches: Vec<usize>,
    /// Socket writes per release (single-packet).
    pub release_writes: Vec<u64>,
    /// Status code -> count (`error` for no response).
    pub statuses: BTreeMap<String, usize>,
    /// Responses that matched `--success`.
    pub successes: usize,
    /// The `--limit` given.
    pub limit: Option<usize>,
    /// Whether successes exceeded the limit.
    pub limit_exceeded: Option<bool>,
    /// Spread of the final bytes' send times, ns.
    pub send_spread_ns: u64,
    /// Spread of the responses' arrival, ns.
    pub response_spread_ns: u64,
    /// Per response: index, status, timings, body digest, error.
    pub responses: Vec<serde_json::Value>,
}

/// Summarizes a burst.
pub fn summarize(report: &BurstReport, success: &dyn Fn(u16) -> bool, limit: Option<usize>) -> RaceSummary {
    let mut statuses = BTreeMap::new();
    for r in &report.responses {
        let key = r.status.map(|s| s.to_string()).unwrap_or_else(|| "error".into());
        *statuses.entry(key).or_insert(0) += 1;
    }
    let successes = report.responses.iter().filter(|r| r.status.is_some_and(success)).count();
    RaceSummary {
        engine: report.mode.as_str().to_string(),
        protocol: report.protocol.as_str().to_string(),
        requests: report.responses.len(),
        batches: report.batches.clone(),
        release_writes: report.release_writes.clone(),
        statuses,
        successes,
        limit,
        limit_exceeded: limit.map(|l| successes > l),
        send_spread_ns: report.send_spread_ns(),
        response_spread_ns: report.response_spread_ns(),
        responses: report
            .responses
            .iter()
            .map(|r| {
                serde_json::json!({
                    "index": r.index, "status": r.status, "sent_ns": r.sent_ns, "received_ns": r.received_ns,
                    "body_sha256": r.body_sha256, "error": r.error,
                })
            })
            .collect(),
    }
}

fn micros(ns: u64) -> String {
    format!("{:.1} us", ns as f64 / 1000.0)
}

/// The text form.
pub fn render_text(s: &RaceSummary, what: &str) -> String {
    let mut out = String::new();
    let release = if s.engine == "single-packet" {
        let batches = s.batches.len();
        let writes: Vec<String> = s.release_writes.iter().map(u64::to_string).collect();
        format!(
            "{batches} batch{} ({}), final frames released in {} socket write(s)",
            if batches == 1 { "" } else { "es: the server limits concurrent streams" },
            s.batches.iter().map(usize::to_string).collect::<Vec<_>>().join("+"),
            writes.join("+")
        )
    } else {
        format!("{} connections", s.requests)
    };
    out.push_str(&format!("burst: {} x {what}\nengine: {} over {}: {release}\n", s.requests, s.engine, s.protocol));
    let statuses: Vec<String> = s.statuses.iter().map(|(k, v)| format!("{k} x{v}")).collect();
    out.push_str(&format!("statuses: {}\n", statuses.join(", ")));
    out.push_str(&format!("successes: {} of {}", s.successes, s.requests));
    match (s.limit, s.limit_exceeded) {
        (Some(l), Some(true)) => out.push_str(&format!(" (limit {l}: EXCEEDED)\n")),
        (Some(l), _) => out.push_str(&format!(" (limit {l}: not exceeded in this burst)\n")),
        _ => out.push('\n'),
    }
    out.push_str(&format!(
        "spread: final bytes sent within {}; responses arrived over {}\n",
        micros(s.send_spread_ns),
        micros(s.response_spread_ns)
    ));
    out
}

/// `mortar race`.
pub async fn race_command(
    args: &RaceArgs,
    invocation: &Invocation,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    match race(args, invocation).await {
        Ok(text) => match emit(stdout, text.as_bytes()) {
            Ok(()) => exit::OK,
            Err(e) => {
                error_line(stderr, &format!("cannot write output: {e}"));
                exit::ERROR
            }
        },
        Err(e) => {
            error_line(stderr, &crate::error::one_line(&e));
            exit::ERROR
        }
    }
}

async fn race(args: &RaceArgs, invocation: &Invocation) -> Result<String, anyhow::Error> {
    let mut templates = Vec::new();
    for path in &args.request {
        let bytes = std::fs::read(path).map_err(|e| UsageError::new(format!("--request {}: {e}", path.display())))?;
        templates.push(parse_raw(&bytes, &format!("--request {}", path.display()))?);
    }
    for line in &args.curl {
        templates.push(parse_curl(line)?);
    }
    if templates.is_empty() {
        let url = args.url.clone().ok_or_else(|| UsageError::new("give a URL, --request FILE or --curl 'curl ...'"))?;
        let body = match args.data.as_deref() {
            Some(d) => match d.strip_prefix('@') {
                Some(file) => std::fs::read(file).map_err(|e| UsageError::new(format!("--data @{file}: {e}")))?,
                None => d.as_bytes().to_vec(),
            },
            None => Vec::new(),
        };
        let method = args.method.clone().unwrap_or_else(|| if body.is_empty() { "GET".into() } else { "POST".into() });
        templates.push(Template { method, url: Some(url), target: None, host: None, headers: Vec::new(), body });
    }
    let count = args.count.unwrap_or(20);
    if !(1..=1000).contains(&count) {
        return Err(UsageError::new("--count: from 1 to 1000").into());
    }
    let mode: BurstMode = match &args.engine {
        Some(e) => e.parse().map_err(UsageError::new)?,
        None => BurstMode::Auto,
    };
    let success = success_matcher(&args.success)?;
    let timeout = args.timeout.as_deref().map(crate::config::parse_duration).transpose().map_err(UsageError::new)?;
    let settle = args.settle.as_deref().map(crate::config::parse_duration).transpose().map_err(UsageError::new)?;
    let scan_args = ScanArgs {
        identity: args.identity.clone(),
        identity_cert: args.identity_cert.clone(),
        header: args.header.clone(),
        ..ScanArgs::default()
    };
    let identities = identity::identities(&scan_args, None, &invocation.env)?;
    let resolved: Vec<(Origin, Request)> =
        templates.iter().map(|t| resolve(t, args.url.as_deref())).collect::<Result<_, _>>()?;
    let origin = resolved[0].0.clone();
    let what = format!("{} {}", resolved[0].1.method, resolved[0].1.url());
    let ca_pem = match &args.ca_cert {
        Some(path) => {
            vec![std::fs::read(path).map_err(|e| UsageError::new(format!("--ca-cert {}: {e}", path.display())))?]
        }
        None => Vec::new(),
    };
    let engine = Engine::new(
        EngineConfig {
            scope_hosts: vec![origin.host.clone()],
            tls: TlsSettings { ca_pem, strict: args.strict_tls, only_given_roots: false },
            timeout: timeout.unwrap_or(Duration::from_secs(10)),
            ..EngineConfig::default()
        },
        &identities,
    )?;
    let identity: Option<Arc<mortar_model::Identity>> = identities.first().cloned();
    let requests: Vec<Request> =
        (0..count).map(|i| resolved[i % resolved.len()].1.clone().identity(identity.clone()).tag("race")).collect();
    let options =
        BurstOptions { mode, settle: settle.unwrap_or(Duration::from_millis(100)), io_wrapper: None, timeout };
    let report = engine
        .burst(requests, options)
        .await
        .map_err(|e| anyhow::Error::new(e).context("the burst could not be sent"))?;
    let summary = summarize(&report, &success, args.limit);
    Ok(match args.format.as_str() {
        "json" => format!("{}\n", serde_json::to_string_pretty(&summary)?),
        _ => render_text(&summary, &what),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_files_parse_with_bare_newlines() {
        let t =
            parse_raw(b"POST /api/redeem?x=%2e HTTP/1.1\nHost: shop.test:8443\nContent-Length: 3\nX-A: 1\n\n{}\n", "f")
                .unwrap();
        assert_eq!(
            (t.method.as_str(), t.target.as_deref(), t.host.as_deref()),
            ("POST", Some("/api/redeem?x=%2e"), Some("shop.test:8443"))
        );
        assert_eq!(t.headers, vec![("X-A".to_string(), b"1".to_vec())]);
        assert_eq!(t.body, b"{}\n");
        assert!(parse_raw(b"garbage", "f").is_err());
    }

    #[test]
    fn curl_lines_parse() {
        let t = parse_curl(
            r#"curl -sS -X POST 'https://api.test/v1/coupons/redeem?c=1' -H 'Content-Type: application/json' \
               -H "Authorization: Bearer x" --data-raw '{"code":"WELCOME"}'"#,
        )
        .unwrap();
        assert_eq!(t.method, "POST");
        assert_eq!(t.url.as_deref(), Some("https://api.test/v1/coupons/redeem?c=1"));
        assert_eq!(t.headers.len(), 2);
        assert_eq!(t.body, br#"{"code":"WELCOME"}"#);
        assert_eq!(parse_curl("curl -d a=1 http://h/").unwrap().method, "POST");
        assert!(parse_curl("curl --upload-file x http://h/").is_err());
        assert!(parse_curl("curl 'unterminated").is_err());
    }

    #[test]
    fn paths_are_kept_verbatim() {
        assert_eq!(path_and_query("https://h:1/a/./b?x=%2e#f"), "/a/./b?x=%2e");
        assert_eq!(path_and_query("https://h?q=1"), "/?q=1");
        assert_eq!(path_and_query("https://h"), "/");
    }

    #[test]
    fn success_classes_and_codes() {
        let m = success_matcher("2xx,302").unwrap();
        assert!(m(201) && m(302) && !m(409));
        assert!(success_matcher("abc").is_err());
    }
}

//! Debug, admin, actuator, metrics and console endpoints left reachable,
//! reported only when the response carries that endpoint's real output.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use mortar_engine::{Exchange, Request};
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A path that exists nowhere: its answer is the soft-404 behaviour.
const NOT_FOUND_PROBE: &str = "mortar-not-found-5c2e9a";

/// What kind of endpoint a response proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Prometheus exposition format (`# HELP` / `# TYPE` lines).
    PrometheusMetrics,
    /// Spring Boot actuator index (`_links` to actuator endpoints).
    ActuatorIndex,
    /// Spring Boot actuator `env`: configuration and often secrets.
    ActuatorEnv,
    /// Go `net/http/pprof` index.
    GoPprof,
    /// Go `expvar` (`/debug/vars`): command line and memory statistics.
    GoExpvar,
    /// Werkzeug / H2 web consoles: code or SQL execution.
    Console,
    /// Apache `mod_status`.
    ServerStatus,
    /// PHP's phpinfo() page.
    PhpInfo,
    /// Django's admin login.
    DjangoAdmin,
    /// The process environment dumped whole (`process.env`, `os.environ`,
    /// `printenv`): names and values, often credentials.
    EnvironmentDump,
}

impl Kind {
    fn component(self) -> &'static str {
        match self {
            Kind::PrometheusMetrics => "prometheus-metrics",
            Kind::ActuatorIndex => "actuator",
            Kind::ActuatorEnv => "actuator-env",
            Kind::GoPprof => "pprof",
            Kind::GoExpvar => "expvar",
            Kind::Console => "console",
            Kind::ServerStatus => "server-status",
            Kind::PhpInfo => "phpinfo",
            Kind::DjangoAdmin => "admin",
            Kind::EnvironmentDump => "environment",
        }
    }

    fn severity(self) -> Severity {
        match self {
            Kind::Console => Severity::Critical,
            Kind::ActuatorEnv | Kind::PhpInfo | Kind::EnvironmentDump => Severity::High,
            Kind::GoPprof | Kind::GoExpvar | Kind::ActuatorIndex | Kind::ServerStatus => Severity::Medium,
            Kind::PrometheusMetrics | Kind::DjangoAdmin => Severity::Low,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::PrometheusMetrics => "Prometheus metrics (internal names, routes, versions and load)",
            Kind::ActuatorIndex => "the Spring Boot actuator index (links to every management endpoint)",
            Kind::ActuatorEnv => "the Spring Boot actuator environment (configuration properties, often credentials)",
            Kind::GoPprof => "Go's pprof profiler (heap, goroutines, CPU profiles on demand)",
            Kind::GoExpvar => "Go's expvar variables (command line and memory statistics)",
            Kind::Console => "an interactive web console (code or SQL execution)",
            Kind::ServerStatus => "Apache server-status (every client and request in flight)",
            Kind::PhpInfo => "phpinfo() (configuration, paths and environment variables)",
            Kind::DjangoAdmin => "the Django admin login",
            Kind::EnvironmentDump => "a dump of the process environment (variable names and values, often credentials)",
        }
    }
}

/// Paths probed (relative, joined to the server root and to the base path), and the kinds each may prove.
/// Heavy endpoints (heap dumps, CPU profiles) are never requested.
const PATHS: &[(&str, &[Kind])] = &[
    ("metrics", &[Kind::PrometheusMetrics]),
    ("actuator", &[Kind::ActuatorIndex]),
    ("actuator/env", &[Kind::ActuatorEnv]),
    ("actuator/prometheus", &[Kind::PrometheusMetrics]),
    ("env", &[Kind::ActuatorEnv, Kind::EnvironmentDump]),
    ("debug", &[Kind::EnvironmentDump, Kind::GoExpvar]),
    ("_debug", &[Kind::EnvironmentDump]),
    ("__debug__", &[Kind::EnvironmentDump]),
    ("debug/env", &[Kind::EnvironmentDump]),
    ("debug/pprof/", &[Kind::GoPprof]),
    ("debug/vars", &[Kind::GoExpvar]),
    ("console", &[Kind::Console]),
    ("h2-console/", &[Kind::Console]),
    ("server-status", &[Kind::ServerStatus]),
    ("phpinfo.php", &[Kind::PhpInfo]),
    ("admin/login/", &[Kind::DjangoAdmin]),
];

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "misconfiguration.debug-endpoints",
        category: Category::Misconfiguration,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "Debug or management endpoint exposed",
        description: "Requests well-known debug and management paths (/metrics, /actuator, /actuator/env, \
            /env, /debug, /_debug, /__debug__, /debug/env, /debug/pprof/, /debug/vars, /console, /h2-console/, \
            /server-status, /phpinfo.php, /admin/login/) \
            at the server root and under the API's base path with GET, and reports one only when the body \
            carries that endpoint's real output (Prometheus `# HELP`/`# TYPE` lines, actuator \
            `propertySources`, the pprof index, at least three of the variables every process environment \
            has such as PATH, HOME, HOSTNAME...), never on a 200 alone; the answer to a non-existent path \
            is fetched first so a catch-all page cannot pass for a hit.",
        remediation: Remediation {
            summary: "Remove debug and management endpoints from the public listener: serve them on a separate \
                internal port or behind authentication, and disable the ones not needed.",
            actix_web: "Mount metrics and admin scopes on a second `HttpServer` bound to an internal address \
                (e.g. 127.0.0.1:9090) instead of the public `App`, or guard the scope with an authentication \
                middleware (`web::scope(\"/admin\").wrap(from_fn(require_admin))`).",
            axum: "Serve the metrics/admin `Router` from a separate `axum::serve` on an internal listener, or \
                add `.route_layer(from_fn(require_admin))` to that nested router; never `merge` it into the \
                public router unauthenticated.",
        },
        references: References { owasp_api: &["API8:2023", "API9:2023"], cwe: &["CWE-489", "CWE-215", "CWE-200"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// The prefixes probed: the server root and, when different, the base path.
fn prefixes(base_path: &str) -> Vec<String> {
    let base = if base_path.ends_with('/') { base_path.to_string() } else { format!("{base_path}/") };
    let mut out = vec!["/".to_string()];
    if base != "/" {
        out.push(base);
    }
    out
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let (mut tried, mut failed, mut last_error) = (0usize, 0usize, None);
    let mut found: BTreeSet<(Kind, String)> = BTreeSet::new();
    for prefix in prefixes(&ctx.target.base_path) {
        // Soft-404 first: kinds its body already matches prove nothing under this prefix.
        let probe = Request::get(&ctx.origin, format!("{prefix}{NOT_FOUND_PROBE}")).identity(ctx.primary_identity());
        let soft404 = match ctx.send(id, None, probe).await {
            Ok(exchange) => Some(exchange),
            Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
            Err(e) => {
                last_error = Some(e.chain());
                None
            }
        };
        let blind: Vec<Kind> = soft404.as_ref().map(matched_kinds).unwrap_or_default();
        for (path, kinds) in PATHS {
            let full = format!("{prefix}{path}");
            let endpoint = Endpoint::new("GET", full.clone());
            let request = Request::get(&ctx.origin, full.clone()).identity(ctx.primary_identity());
            tried += 1;
            let exchange = match ctx.send(id, Some(&endpoint), request.clone()).await {
                Ok(exchange) => exchange,
                Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
                Err(e) => {
                    failed += 1;
                    last_error = Some(e.chain());
                    continue;
                }
            };
            if soft404.as_ref().is_some_and(|s| same_page(s, &exchange)) {
                continue;
            }
            for kind in matched_kinds(&exchange) {
                if !kinds.contains(&kind) || blind.contains(&kind) || !found.insert((kind, full.clone())) {
                    continue;
                }
                reporter.observe(Observation {
                    endpoint: Some(endpoint.clone()),
                    component: Some(kind.component().to_string()),
                    severity: Some(kind.severity()),
                    confidence: Confidence::Confirmed,
                    title: Some(format!("Exposed {}", kind.component().replace('-', " "))),
                    description: format!(
                        "GET {full} answers {} with {}, reachable by anyone who can reach the API; a \
                         non-existent path ({prefix}{NOT_FOUND_PROBE}) does not produce this content.",
                        exchange.response.status,
                        kind.what()
                    ),
                    evidence: vec![ctx.evidence(&exchange, format!("The body is {}.", kind.what()))],
                    reproduce: ctx.curl(&request),
                });
            }
        }
    }
    match (tried, failed) {
        (0, _) => CheckVerdict::Skipped("no path to probe".into()),
        (t, f) if f == t => CheckVerdict::Inconclusive(format!(
            "no response to any of {t} debug path(s): {}",
            last_error.unwrap_or_default()
        )),
        (t, f) => CheckVerdict::Ran(format!("{} debug and management path(s) probed", t - f)),
    }
}

/// Whether two responses are the same page (status and body).
fn same_page(a: &Exchange, b: &Exchange) -> bool {
    a.response.status == b.response.status && a.response.body == b.response.body
}

/// Every kind whose signature a successful response carries.
pub fn matched_kinds(exchange: &Exchange) -> Vec<Kind> {
    let response = &exchange.response;
    if !(200..300).contains(&response.status) || response.body.is_empty() {
        return Vec::new();
    }
    let body = response.text();
    let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let mut kinds = Vec::new();
    if is_prometheus(&body) {
        kinds.push(Kind::PrometheusMetrics);
    }
    if let Some(json) = &json {
        let links = &json["_links"];
        if links.is_object()
            && links
                .as_object()
                .is_some_and(|l| l.values().any(|v| v["href"].as_str().is_some_and(|h| h.contains("/actuator"))))
        {
            kinds.push(Kind::ActuatorIndex);
        }
        // Boot 2+: {"activeProfiles": [...], "propertySources": [{"name", "properties"}]};
        // Boot 1: {"profiles": [...], "systemProperties": {...}, "systemEnvironment": {...}}.
        let boot2 = json["activeProfiles"].is_array()
            && json["propertySources"].as_array().is_some_and(|s| s.iter().any(|p| p["properties"].is_object()));
        let boot1 = json["profiles"].is_array()
            && (json["systemProperties"].is_object() || json["systemEnvironment"].is_object());
        if boot2 || boot1 {
            kinds.push(Kind::ActuatorEnv);
        }
        if json["cmdline"].is_array() && json["memstats"].is_object() {
            kinds.push(Kind::GoExpvar);
        }
    }
    if body.contains("/debug/pprof/") && body.contains("goroutine") && body.contains("heap") {
        kinds.push(Kind::GoPprof);
    }
    if (body.contains("Werkzeug") && body.contains("Interactive Console"))
        || (body.contains("H2 Console") && body.contains("JDBC URL"))
    {
        kinds.push(Kind::Console);
    }
    if body.contains("Apache Server Status for") {
        kinds.push(Kind::ServerStatus);
    }
    if body.contains("phpinfo()") && body.contains("PHP Version") {
        kinds.push(Kind::PhpInfo);
    }
    if body.contains("Django administration") || body.contains("Django site admin") {
        kinds.push(Kind::DjangoAdmin);
    }
    if is_environment_dump(&body, json.as_ref()) {
        kinds.push(Kind::EnvironmentDump);
    }
    kinds
}

/// Variables nearly every process environment carries, whatever the stack.
const ENVIRONMENT_NAMES: &[&str] = &[
    "PATH",
    "HOME",
    "HOSTNAME",
    "PWD",
    "OLDPWD",
    "USER",
    "LOGNAME",
    "SHELL",
    "SHLVL",
    "LANG",
    "TERM",
    "TMPDIR",
    "NODE_ENV",
    "NODE_VERSION",
    "PYTHONPATH",
    "PYTHON_VERSION",
    "VIRTUAL_ENV",
    "JAVA_HOME",
    "GOPATH",
];

/// A process environment: at least three of [`ENVIRONMENT_NAMES`] as keys of
/// a JSON object (at the top or one level down, as in `{"env": {...}}`) or as
/// `NAME=value` lines.
fn is_environment_dump(body: &str, json: Option<&serde_json::Value>) -> bool {
    let known = |name: &str| ENVIRONMENT_NAMES.contains(&name);
    let in_object = |map: &serde_json::Map<String, serde_json::Value>| map.keys().filter(|k| known(k)).count() >= 3;
    if let Some(serde_json::Value::Object(map)) = json {
        return in_object(map) || map.values().any(|v| v.as_object().is_some_and(in_object));
    }
    let names: BTreeSet<&str> = body
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, _)| name.trim())
        .filter(|n| known(n))
        .collect();
    names.len() >= 3
}

/// Prometheus text exposition: `# HELP` and `# TYPE` comment lines and at least
/// one sample line `name{labels} value` whose metric was declared.
pub fn is_prometheus(body: &str) -> bool {
    let mut declared = BTreeSet::new();
    let mut help = false;
    let mut sample = false;
    for line in body.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help |= rest.split_whitespace().next().is_some();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split_whitespace();
            if let (Some(name), Some(kind)) = (parts.next(), parts.next())
                && matches!(kind, "counter" | "gauge" | "histogram" | "summary" | "untyped" | "info" | "stateset")
            {
                declared.insert(name.to_string());
            }
        } else if !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap_or("");
            let value = line.rsplit(' ').next().unwrap_or("");
            let base = ["_bucket", "_sum", "_count", "_total", "_created", "_info"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            if (declared.contains(name) || declared.contains(base)) && value.parse::<f64>().is_ok() {
                sample = true;
            }
        }
    }
    help && sample
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::fixture::exchange;

    const METRICS: &str = "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n\
        http_requests_total{route=\"/api/orders\",status=\"200\"} 1027\n";

    #[test]
    fn prometheus_text_is_recognised_and_lookalikes_are_not() {
        assert!(is_prometheus(METRICS));
        assert_eq!(matched_kinds(&exchange("https://h/metrics", 200, &[], METRICS)), vec![Kind::PrometheusMetrics]);
        // Same text on an error status, prose mentioning the words, or comments without samples.
        assert!(matched_kinds(&exchange("https://h/metrics", 404, &[], METRICS)).is_empty());
        assert!(!is_prometheus("<html>Use # HELP and # TYPE lines in /metrics</html>"));
        assert!(!is_prometheus("# HELP x y\n# TYPE x counter\n"));
        assert!(!is_prometheus("{\"error\":\"not found\"}"));
    }

    #[test]
    fn actuator_env_and_index_need_their_structure() {
        let env = r#"{"activeProfiles":["prod"],"propertySources":[{"name":"systemEnvironment","properties":{"DB_PASSWORD":{"value":"******"}}}]}"#;
        assert_eq!(matched_kinds(&exchange("https://h/actuator/env", 200, &[], env)), vec![Kind::ActuatorEnv]);
        let index = r#"{"_links":{"self":{"href":"https://h/actuator","templated":false},"env":{"href":"https://h/actuator/env"}}}"#;
        assert_eq!(matched_kinds(&exchange("https://h/actuator", 200, &[], index)), vec![Kind::ActuatorIndex]);
        // A generic JSON 200 (an SPA or catch-all) proves nothing.
        for body in [r#"{"status":"ok"}"#, r#"{"activeProfiles":[]}"#, r#"{"_links":{"self":{"href":"/api/"}}}"#] {
            assert!(matched_kinds(&exchange("https://h/x", 200, &[], body)).is_empty(), "{body}");
        }
    }

    #[test]
    fn environment_dumps_are_recognised_in_json_and_text() {
        let node = r#"{"PATH":"/usr/local/bin:/usr/bin","HOSTNAME":"api-7f9c","NODE_ENV":"production","PORT":"3000"}"#;
        let nested = r#"{"debug": true, "env": {"HOME": "/root", "PWD": "/app", "LANG": "C.UTF-8"}}"#;
        let printenv = "HOSTNAME=api-7f9c\nHOME=/home/app\nPATH=/usr/bin\nSECRET_KEY=******\n";
        for body in [node, nested, printenv] {
            assert_eq!(
                matched_kinds(&exchange("https://h/_debug", 200, &[], body)),
                vec![Kind::EnvironmentDump],
                "{body}"
            );
        }
        // Two names, names in prose, or values only are not an environment.
        for body in [
            r#"{"PATH": "/x", "HOME": "/y", "status": "ok"}"#,
            "Set PATH and HOME and USER before starting.",
            r#"["PATH", "HOME", "USER"]"#,
        ] {
            assert!(matched_kinds(&exchange("https://h/_debug", 200, &[], body)).is_empty(), "{body}");
        }
    }

    #[test]
    fn soft_404_pages_are_compared_whole() {
        let a = exchange("https://h/a", 200, &[], "<html>app</html>");
        let b = exchange("https://h/b", 200, &[], "<html>app</html>");
        let c = exchange("https://h/c", 200, &[], METRICS);
        assert!(same_page(&a, &b));
        assert!(!same_page(&a, &c));
    }

    #[test]
    fn probes_root_and_base_path_once_each() {
        assert_eq!(prefixes("/"), vec!["/"]);
        assert_eq!(prefixes("/api/"), vec!["/", "/api/"]);
        assert_eq!(prefixes("/api"), vec!["/", "/api/"]);
    }
}

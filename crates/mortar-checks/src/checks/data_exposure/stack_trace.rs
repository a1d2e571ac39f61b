//! Stack traces, framework debug pages and database errors in responses,
//! provoked only with safe GET requests: a quote in a query parameter, a
//! non-numeric value where an id was, and an unknown path.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::Tally;
use crate::probes::pages::pages;
use mortar_engine::{Exchange, Request};
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Observation, Profile, References, Remediation, Severity,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "data-exposure.stack-trace",
        category: Category::DataExposure,
        severity: Severity::Medium,
        profile: Profile::Passive,
        title: "Stack trace or debug error exposed",
        description: "Reads normal responses and provokes errors with safe GET requests only (a quote in an `id` \
            query parameter, a non-numeric value in place of a numeric or UUID path segment, an unknown path), \
            then looks for the signatures of Rust panics and backtraces, Python tracebacks, Java/Kotlin, .NET, \
            Node.js and PHP stack traces, framework debug pages and SQL error messages. They reveal code \
            paths, versions and queries that help an attacker aim.",
        remediation: Remediation {
            summary: "Answer errors with a generic body (status, short message, correlation id) and log the \
                details server-side; never return panics, backtraces or database errors.",
            actix_web: "Implement `ResponseError` for your error type with an `error_response` that returns a \
                generic JSON body (log the cause with `tracing::error!`), map extractor failures with \
                `web::PathConfig::default().error_handler(..)` / `QueryConfig`, and do not format `{:?}` of \
                errors or `std::backtrace::Backtrace` into responses.",
            axum: "Implement `IntoResponse` for your error type returning a generic JSON body (log the cause with \
                `tracing::error!`), wrap the router in tower-http's `CatchPanicLayer` with a generic response, \
                and never put `{:?}` of errors or `std::backtrace::Backtrace` into response bodies.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-209", "CWE-215"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// What an error body revealed: the technology and the line that proves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// E.g. `Rust panic`, `SQL error`.
    pub kind: &'static str,
    /// The matching line, shortened.
    pub line: String,
}

/// Substrings that are signatures on their own.
const LITERALS: &[(&str, &str)] = &[
    ("panicked at ", "Rust panic"),
    ("stack backtrace:", "Rust backtrace"),
    ("RUST_BACKTRACE=", "Rust backtrace"),
    ("Traceback (most recent call last):", "Python traceback"),
    ("Exception in thread \"", "Java stack trace"),
    ("--- End of stack trace from previous location", ".NET stack trace"),
    ("--- End of inner exception stack trace ---", ".NET stack trace"),
    ("Server Error in '/' Application", "ASP.NET error page"),
    ("You're seeing this error because you have <code>DEBUG = True</code>", "Django debug page"),
    ("Werkzeug Debugger", "Werkzeug debugger"),
    ("Action Controller: Exception caught", "Rails error page"),
    ("Whoops, looks like something went wrong", "Laravel error page"),
    ("PHP Fatal error:", "PHP error"),
    ("<b>Fatal error</b>:", "PHP error"),
    ("<b>Warning</b>:", "PHP error"),
    ("You have an error in your SQL syntax", "SQL error"),
    ("SQLSTATE[", "SQL error"),
    ("unterminated quoted string at or near", "SQL error"),
    ("Unclosed quotation mark after the character string", "SQL error"),
    ("quoted string not properly terminated", "SQL error"),
    ("sqlite3.OperationalError", "SQL error"),
    ("SQLITE_ERROR", "SQL error"),
    ("PG::SyntaxError", "SQL error"),
    ("org.hibernate.", "Java stack trace"),
];

/// Finds the first error signature in a body.
pub fn signature(body: &str) -> Option<Signature> {
    let short = |line: &str| {
        let line = line.trim();
        let end = line.char_indices().nth(160).map(|(i, _)| i).unwrap_or(line.len());
        line[..end].to_string()
    };
    let line_of = |pos: usize| {
        let start = body[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let end = body[pos..].find('\n').map(|i| pos + i).unwrap_or(body.len());
        short(&body[start..end])
    };
    for (needle, kind) in LITERALS {
        if let Some(pos) = body.find(needle) {
            return Some(Signature { kind, line: line_of(pos) });
        }
    }
    for line in body.lines() {
        let l = line.trim();
        if let Some(kind) = frame(l) {
            return Some(Signature { kind, line: short(l) });
        }
    }
    None
}

/// A stack frame line: `at pkg.Class.method(File.java:42)`, `at fn (/app/x.js:10:5)`,
/// `File "/app/x.py", line 3, in f`, `at Ns.Type.M() in C:\x.cs:line 9`, `#0 /var/www/x.php(12)`,
/// or a Rust source location `src/handlers.rs:42:7`.
fn frame(l: &str) -> Option<&'static str> {
    let digits_after = |s: &str, marker: &str| {
        s.find(marker).is_some_and(|i| s[i + marker.len()..].chars().next().is_some_and(|c| c.is_ascii_digit()))
    };
    if let Some(rest) = l.strip_prefix("at ") {
        if (rest.contains(".java:") && digits_after(rest, ".java:")) || digits_after(rest, ".kt:") {
            return Some("Java stack trace");
        }
        if rest.contains(".cs:line ") {
            return Some(".NET stack trace");
        }
        if ["js:", "mjs:", "ts:"].iter().any(|m| digits_after(rest, m))
            && (rest.contains("(/") || rest.contains("node:"))
        {
            return Some("Node.js stack trace");
        }
    }
    if l.starts_with("File \"") && l.contains("\", line ") {
        return Some("Python traceback");
    }
    if l.starts_with("#0 ") && l.contains(".php") {
        return Some("PHP stack trace");
    }
    // A Rust source location: a path segment ending in `.rs:` followed by a line number.
    if let Some(i) = l.find(".rs:")
        && digits_after(&l[i..], ".rs:")
        && l[..i].rsplit([' ', '(', '\'', '"']).next().is_some_and(|p| p.contains('/') && !p.contains("://"))
    {
        return Some("Rust source location");
    }
    None
}

/// Most endpoints given a malformed id.
const MAX_ID_PROBES: usize = 100;

/// The safe error-provoking probes: (endpoint to report, request target).
fn probes(ctx: &ScanContext, endpoints: &[Endpoint]) -> Vec<(Endpoint, String)> {
    let base = ctx.target.base_path.clone();
    let slash = if base.ends_with('/') { "" } else { "/" };
    let mut out = vec![
        (Endpoint::new("GET", base.clone()), format!("{base}?id=%27")),
        (
            Endpoint::new("GET", format!("{base}{slash}mortar-unknown-path")),
            format!("{base}{slash}mortar-unknown-path%27"),
        ),
    ];
    for e in endpoints {
        // The concrete path (an API description fills `{id}` in), without its query.
        let concrete = ctx.request("GET", e).target;
        let concrete = concrete.split('?').next().unwrap_or_default();
        let Some((head, last)) = concrete.trim_end_matches('/').rsplit_once('/') else { continue };
        let numeric = !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
        let uuid = last.len() == 36 && last.bytes().filter(|b| *b == b'-').count() == 4;
        let templated = e.path.trim_end_matches('/').ends_with('}');
        if numeric || uuid || templated {
            let report = if templated {
                e.clone()
            } else {
                let template_head = e.path.trim_end_matches('/').rsplit_once('/').map_or("", |(h, _)| h);
                Endpoint::new("GET", format!("{template_head}/{{id}}"))
            };
            out.push((report, format!("{head}/mortar%27")));
        }
    }
    out
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let id = CHECK.info.id;
    let read = pages(&ctx, id).await;
    let mut reported: BTreeSet<Endpoint> = BTreeSet::new();
    let mut report = |endpoint: &Endpoint, request: &Request, exchange: &Exchange, provoked: bool| {
        let Some(sig) = signature(&exchange.response.text()) else { return };
        if !reported.insert(endpoint.clone()) {
            return;
        }
        let how = if provoked {
            format!("GET {} (a malformed value sent with a safe request)", exchange.request.url)
        } else {
            "a normal GET".to_string()
        };
        reporter.observe(Observation {
            endpoint: Some(endpoint.clone()),
            component: None,
            severity: None,
            confidence: Confidence::Firm,
            title: None,
            description: format!(
                "{} {} answers {how} with HTTP {} containing a {}: `{}`.",
                endpoint.method, endpoint.path, exchange.response.status, sig.kind, sig.line
            ),
            evidence: vec![ctx.evidence(exchange, format!("The response body contains a {}.", sig.kind))],
            reproduce: ctx.curl(request),
        });
    };
    for page in &read.pages {
        let request = ctx.request("GET", &page.endpoint).identity(ctx.primary_identity());
        report(&page.endpoint, &request, &page.exchange, false);
    }
    // Every GET with an id, not only the pages read: one malformed id each, bounded.
    let mut endpoints: Vec<Endpoint> = read.pages.iter().map(|p| p.endpoint.clone()).collect();
    for e in ctx.safe_endpoints().filter(|e| e.method == "GET") {
        if endpoints.len() >= MAX_ID_PROBES {
            break;
        }
        if !endpoints.contains(e) {
            endpoints.push(e.clone());
        }
    }
    let probes = probes(&ctx, &endpoints);
    let mut tally = Tally { tried: read.tally.tried + probes.len(), ..read.tally.clone() };
    for (endpoint, target) in &probes {
        let request = Request::get(&ctx.origin, target.clone()).identity(ctx.primary_identity());
        match ctx.send(id, Some(endpoint), request.clone()).await {
            Ok(exchange) => report(endpoint, &request, &exchange, true),
            Err(e) if e.is_scan_limit() => return CheckVerdict::Inconclusive(e.chain()),
            Err(e) => tally.failure(e.chain()),
        }
    }
    tally.verdict("normal responses read and errors provoked with safe requests")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(body: &str) -> Option<&'static str> {
        signature(body).map(|s| s.kind)
    }

    #[test]
    fn recognises_traces_of_each_stack() {
        assert_eq!(kind("thread 'main' panicked at src/main.rs:4:5:\nboom"), Some("Rust panic"));
        assert_eq!(
            kind("error\n   0: app::handlers::item\n             at ./src/handlers.rs:42:17"),
            Some("Rust source location")
        );
        assert_eq!(kind("Traceback (most recent call last):\n  File \"/app/x.py\", line 3"), Some("Python traceback"));
        assert_eq!(kind("  File \"/app/views.py\", line 12, in get"), Some("Python traceback"));
        assert_eq!(
            kind("java.lang.NumberFormatException\n\tat com.acme.api.ItemController.get(ItemController.java:42)"),
            Some("Java stack trace")
        );
        assert_eq!(kind("   at Acme.Api.Items.Get(Int32 id) in C:\\src\\Items.cs:line 17"), Some(".NET stack trace"));
        assert_eq!(kind("TypeError: x\n    at getItem (/srv/app/routes/items.js:14:11)"), Some("Node.js stack trace"));
        assert_eq!(kind("<b>Fatal error</b>: Uncaught Error in /var/www/x.php:3"), Some("PHP error"));
        assert_eq!(kind("#0 /var/www/html/index.php(12): f()"), Some("PHP stack trace"));
        assert_eq!(kind(r#"{"error":"You have an error in your SQL syntax; check the manual"}"#), Some("SQL error"));
        assert_eq!(kind(r#"{"error":"unterminated quoted string at or near \"'\""}"#), Some("SQL error"));
    }

    #[test]
    fn ignores_ordinary_errors_and_content() {
        for body in [
            r#"{"error":"invalid id"}"#,
            r#"{"error":"not found","path":"/api/items/x"}"#,
            "Not Found",
            r#"{"docs":"https://docs.rs/axum/latest/src/axum/routing.rs:10","file":"lib.rs"}"#,
            r#"{"message":"Look at the dashboard (meeting at 10:30)","script":"app.js"}"#,
            r#"{"note":"File \"report.pdf\" uploaded"}"#,
            "",
        ] {
            assert_eq!(kind(body), None, "{body}");
        }
    }
}

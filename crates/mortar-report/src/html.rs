//! One self-contained HTML file: no script, no external URL, a content
//! security policy that forbids loading anything, and a print stylesheet.

use mortar_model::{Evidence, Finding, Report, Severity};
use std::fmt::Write as _;

/// Text escaped for HTML content and attribute values.
pub use crate::text::escape_markup as escape_html;

const STYLE: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}.grade{font-size:2.5rem;font-weight:700;margin-right:.5rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #ddd}
.bar{background:#e8eaed;height:.8rem;width:12rem;display:inline-block}.bar span{display:block;height:100%;background:#2f7d32}
.sev{font-weight:600;text-transform:uppercase;font-size:.75rem;padding:.1rem .35rem;border-radius:.2rem;color:#fff}
.critical{background:#7b1113}.high{background:#c62828}.medium{background:#ef6c00}.low{background:#1565c0}.info{background:#607d8b}
.finding{border:1px solid #ddd;border-radius:.3rem;padding:.5rem 1rem;margin:.75rem 0}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:.5rem;font-size:12px}
@media print{body{margin:0;max-width:none}details{display:block}details>*{display:block}summary{list-style:none}
.finding{break-inside:avoid}a{color:inherit;text-decoration:none}}
";

fn evidence(out: &mut String, e: &Evidence) {
    let _ = write!(out, "<p>{}</p><pre>", escape_html(&e.note));
    let _ =
        writeln!(out, "{} {} {}", escape_html(&e.request.method), escape_html(&e.request.url), e.request.http_version);
    for (n, v) in &e.request.headers {
        let _ = writeln!(out, "{}: {}", escape_html(n), escape_html(v));
    }
    if let Some(b) = &e.request.body {
        let _ = writeln!(out, "\n{}", escape_html(&b.content));
    }
    out.push_str("</pre>");
    if let Some(r) = &e.response {
        let _ = writeln!(out, "<pre>{} {}", r.http_version, r.status);
        for (n, v) in &r.headers {
            let _ = writeln!(out, "{}: {}", escape_html(n), escape_html(v));
        }
        if let Some(b) = &r.body {
            let _ = write!(out, "\n{}{}", escape_html(&b.content), if b.truncated { "\n… (truncated)" } else { "" });
        }
        out.push_str("</pre>");
    }
    if let Some(err) = &e.error {
        let _ = write!(out, "<p>error: {}</p>", escape_html(err));
    }
}

fn finding(out: &mut String, f: &Finding) {
    let place = f.endpoint.as_ref().map(|e| format!("{} {}", e.method, e.path)).unwrap_or_else(|| "host-wide".into());
    let _ = write!(
        out,
        "<section class=\"finding\" id=\"f-{id}\"><h3><span class=\"sev {sev}\">{sev}</span> {title}</h3>\
         <p><code>{check}</code> · {place} · {confidence} · {status:?} · id <code>{id}</code></p><p>{desc}</p>",
        sev = f.severity.as_str(),
        title = escape_html(&f.title),
        check = escape_html(&f.check),
        place = escape_html(&place),
        confidence = f.confidence.as_str(),
        status = f.status,
        id = escape_html(&f.id),
        desc = escape_html(&f.description),
    );
    if f.affected.len() > 1 {
        let list: Vec<String> = f.affected.iter().map(|a| escape_html(&format!("{} {}", a.method, a.path))).collect();
        let _ = write!(out, "<p>Affected: {}</p>", list.join(", "));
    }
    let refs: Vec<String> = f.references.owasp_api.iter().chain(&f.references.cwe).map(|r| escape_html(r)).collect();
    let _ = write!(
        out,
        "<p><strong>Fix.</strong></p><pre>{}</pre><p><strong>Reproduce.</strong></p><pre>{}</pre><p>{}</p>",
        escape_html(&f.remediation),
        escape_html(&f.reproduce),
        refs.join(" · ")
    );
    let _ = write!(out, "<details><summary>Evidence ({})</summary>", f.evidence.len());
    for e in &f.evidence {
        evidence(out, e);
    }
    out.push_str("</details></section>\n");
}

/// The findings grouped by OWASP API Top 10 2023 risk and by CWE, linked to
/// their sections.
fn compliance(out: &mut String, report: &Report) {
    let title = |id: &str| -> String {
        report.findings.iter().find(|f| f.id == id).map(|f| f.title.clone()).unwrap_or_else(|| id.to_string())
    };
    let groups = [("OWASP API Security Top 10 (2023)", &report.compliance.owasp_api), ("CWE", &report.compliance.cwe)];
    for (heading, groups) in groups {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h2>{heading}</h2><table><tr><th>id</th><th>risk</th><th>findings</th></tr>");
        for g in groups {
            let links: Vec<String> = g
                .findings
                .iter()
                .map(|id| format!("<a href=\"#f-{}\">{}</a>", escape_html(id), escape_html(&title(id))))
                .collect();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape_html(&g.id),
                escape_html(g.name.as_deref().unwrap_or("")),
                if links.is_empty() { "none found".to_string() } else { links.join("<br>") }
            );
        }
        out.push_str("</table>\n");
    }
}

/// The report as one HTML file that loads nothing: `default-src 'none'`
/// (inline styles only), every value from the target escaped, evidence folded,
/// a per-category chart made of CSS bars, and a print stylesheet.
pub fn render_html(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>mortar report: {target}</title><style>{STYLE}</style></head><body>\n\
         <h1><span class=\"grade\">{grade}</span>{score}/100 · mortar scan of {target}</h1>\n\
         <p>profile {profile} · started {started} · {secs:.1} s · {requests} requests · gate score {gate}</p>\n",
        target = escape_html(&report.target.url),
        grade = report.grade,
        score = report.score,
        profile = report.profile,
        started = escape_html(&report.started_at),
        secs = report.duration_ms as f64 / 1000.0,
        requests = report.stats.requests,
        gate = report.gate_score,
    );
    out.push_str(
        "<h2>Categories</h2><table><tr><th>category</th><th>score</th><th></th><th>grade</th><th>findings</th></tr>\n",
    );
    for c in &report.categories {
        let score = c.score.map(|s| s.to_string()).unwrap_or_else(|| "n/a".into());
        let width = c.score.unwrap_or(0);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{score}</td><td><span class=\"bar\"><span style=\"width:{width}%\"></span></span></td><td>{}</td><td>{}</td></tr>",
            escape_html(&c.name),
            escape_html(&c.grade),
            c.findings
        );
    }
    out.push_str("</table>\n");
    let _ = writeln!(out, "<h2>Findings ({})</h2>", report.findings.len());
    for severity in Severity::ALL {
        for f in report.findings.iter().filter(|f| f.severity == severity) {
            finding(&mut out, f);
        }
    }
    if report.findings.is_empty() {
        out.push_str("<p>No findings.</p>\n");
    }
    compliance(&mut out, report);
    out.push_str("<h2>Coverage</h2><table><tr><th>check</th><th>status</th><th>requests</th><th>reason</th></tr>\n");
    for c in &report.coverage.checks {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{:?}</td><td>{}</td><td>{}</td></tr>",
            escape_html(&c.check),
            c.status,
            c.requests,
            escape_html(c.reason.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>\n");
    for note in &report.notes {
        let _ = writeln!(out, "<p>note: {}</p>", escape_html(note));
    }
    out.push_str("</body></html>\n");
    out
}

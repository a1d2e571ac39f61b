//! Shared by the passive data-exposure, inventory and JWT checks: which
//! responses to read (the known endpoints plus same-origin links found in
//! their JSON), masking of values the *target* leaks (the engine only knows
//! the scan's own secrets), and evidence with those values masked.

use super::baseline::{Pages, baselines, endpoints};
use crate::context::ScanContext;
use mortar_engine::Exchange;
use mortar_model::{Endpoint, Evidence};
use std::collections::BTreeSet;

/// Most links followed from the known endpoints' bodies (one level deep).
const MAX_DISCOVERED: usize = 15;

/// The baseline GET of every safe known endpoint, then of every same-origin
/// path under the base path that their JSON bodies link to (a passive scan may
/// read discovered paths). Baselines are shared, so several checks reading the
/// same pages cost one request each.
pub(crate) async fn pages(ctx: &ScanContext, check: &'static str) -> Pages {
    let mut read = baselines(ctx, check).await;
    // Only the known endpoints' links are followed: one level deep.
    let mut seen: BTreeSet<String> = endpoints(ctx).into_iter().map(|e| e.path).collect();
    let mut discovered = Vec::new();
    for page in &read.pages {
        for path in links(&ctx.target.base_path, &page.exchange.response.body) {
            if discovered.len() < MAX_DISCOVERED && seen.insert(path.clone()) {
                discovered.push(Endpoint::new("GET", path));
            }
        }
    }
    read.read(ctx, check, discovered).await;
    read
}

/// Same-origin paths under `base_path` that a JSON body names as string values
/// (`{"links": {"orders": "/api/orders"}}`), without templates, queries or dot segments.
pub(crate) fn links(base_path: &str, body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else { return Vec::new() };
    let mut out = Vec::new();
    collect_strings(&value, &mut |s| {
        let ok = s.starts_with(base_path)
            && s != base_path
            && s.len() < 200
            && !s.starts_with("//")
            && !s.split('/').any(|seg| seg == "." || seg == "..")
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
        if ok && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    });
    out
}

/// Calls `f` with every string value (not keys) in a JSON document, depth-limited.
pub(crate) fn collect_strings(value: &serde_json::Value, f: &mut dyn FnMut(&str)) {
    fn walk(value: &serde_json::Value, depth: usize, f: &mut dyn FnMut(&str)) {
        if depth > 32 {
            return;
        }
        match value {
            serde_json::Value::String(s) => f(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, depth + 1, f)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, depth + 1, f)),
            _ => {}
        }
    }
    walk(value, 0, f)
}

/// Calls `f` with every string value held under one of `keys` (exact
/// property names) anywhere in a JSON document, depth-limited.
pub(crate) fn collect_keyed_strings(value: &serde_json::Value, keys: &[&str], f: &mut dyn FnMut(&str)) {
    fn walk(value: &serde_json::Value, keys: &[&str], depth: usize, f: &mut dyn FnMut(&str)) {
        if depth > 32 {
            return;
        }
        match value {
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, keys, depth + 1, f)),
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(s) if keys.contains(&k.as_str()) => f(s),
                        other => walk(other, keys, depth + 1, f),
                    }
                }
            }
            _ => {}
        }
    }
    walk(value, keys, 0, f)
}

/// A value the target leaked, masked for reports: the first and last four
/// characters of long values (`AKIA************MPLE`), two of medium ones,
/// nothing of short ones. The number of stars is capped so long values do not
/// reveal their length.
pub(crate) fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let keep = match n {
        0..=7 => 0,
        8..=15 => 2,
        _ => 4,
    };
    let stars = (n - 2 * keep).min(16);
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[n - keep..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(stars.max(3)))
}

/// Evidence of an exchange with every leaked value replaced by `mask(value)` in
/// the response body, the response headers and the request URL. A value cut by
/// the evidence cap is masked too (any tail of the content that begins one).
pub(crate) fn masked_evidence(
    ctx: &ScanContext,
    exchange: &Exchange,
    note: impl Into<String>,
    leaked: &[String],
) -> Evidence {
    let mut evidence = ctx.evidence(exchange, note);
    let mut values: Vec<&String> = leaked.iter().filter(|v| !v.is_empty()).collect();
    // Longest first, so a value is masked whole before any value inside it.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    let scrub = |text: &str| {
        let mut text = text.to_string();
        for v in &values {
            text = text.replace(v.as_str(), &mask(v));
        }
        text
    };
    evidence.request.url = scrub(&evidence.request.url);
    if let Some(response) = evidence.response.as_mut() {
        for (_, value) in response.headers.iter_mut() {
            *value = scrub(value);
        }
        if let Some(body) = response.body.as_mut() {
            if body.encoding == mortar_model::BodyEncoding::Utf8 {
                let mut content = scrub(&body.content);
                if body.truncated {
                    content = mask_cut_tail(&content, &values);
                }
                body.content = content;
            } else {
                // A binary body cannot be scrubbed reliably: leave it out.
                body.content = String::new();
                body.truncated = true;
            }
        }
    }
    evidence
}

/// If the content ends with the beginning of a leaked value (cut by the cap), mask that tail.
fn mask_cut_tail(content: &str, values: &[&String]) -> String {
    for v in values {
        for k in (4..v.len()).rev() {
            if !v.is_char_boundary(k) {
                continue;
            }
            if content.ends_with(&v[..k]) {
                let cut = content.len() - k;
                return format!("{}{}", &content[..cut], mask(&v[..k]));
            }
        }
    }
    content.to_string()
}

/// Every credential the scan itself sends, as (identity, header, value): the
/// identities' headers and the tokens their logins obtained.
pub(crate) fn identity_values(ctx: &ScanContext) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for identity in &ctx.identities {
        for header in &identity.headers {
            out.push((identity.name.clone(), header.name.clone(), header.value.expose_str().into_owned()));
        }
        if let Some((name, value)) = identity.session_header() {
            out.push((identity.name.clone(), name, String::from_utf8_lossy(&value).into_owned()));
        }
    }
    out
}

/// Splits text into maximal runs of characters accepted by `keep`, with their byte offsets.
pub(crate) fn tokens(text: &str, keep: impl Fn(char) -> bool) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (keep(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_little_and_hide_length() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "AKIA************MPLE");
        assert_eq!(mask("123-45-6789"), "12*******89");
        assert_eq!(mask("abc"), "***");
        let long = "x".repeat(500);
        assert_eq!(mask(&long).len(), 24);
    }

    #[test]
    fn links_stay_under_the_base_path() {
        let body = br#"{"links":{"a":"/api/session","b":"/other","c":"/api/../x","d":"/api/{id}","e":"/api/"},
            "items":["/api/items/1","/api/session"],"n":3}"#;
        // Object keys come in sorted order (serde_json without preserve_order).
        assert_eq!(links("/api/", body), vec!["/api/items/1".to_string(), "/api/session".to_string()]);
        assert!(links("/api/", b"not json /api/x").is_empty());
    }

    #[test]
    fn tokens_split_on_rejected_characters() {
        let t = tokens("a=AKIA1234, b", |c| c.is_ascii_alphanumeric());
        assert_eq!(t, vec![(0, "a"), (2, "AKIA1234"), (12, "b")]);
    }

    #[test]
    fn cut_tails_are_masked() {
        let v = "sk_live_abcdefghijklmnop".to_string();
        let out = mask_cut_tail("{\"k\":\"sk_live_abcdef", &[&v]);
        assert!(!out.contains("abcdef"), "{out}");
    }
}

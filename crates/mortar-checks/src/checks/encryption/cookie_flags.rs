//! Cookies set without Secure (over HTTPS), HttpOnly (session-like cookies) or SameSite.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::baseline::{Page, baselines};
use mortar_engine::{Request, Response};
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The attributes checked, as finding components (one finding per missing attribute).
pub const SECURE: &str = "Secure";
/// Session-like cookies only.
pub const HTTP_ONLY: &str = "HttpOnly";
/// Every cookie.
pub const SAME_SITE: &str = "SameSite";

/// Name fragments of cookies that carry a session or a credential.
const SESSION_LIKE: &[&str] =
    &["sess", "sid", "token", "auth", "jwt", "login", "remember", "csrf", "xsrf", "access", "refresh", "id"];

/// One Set-Cookie header, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// The cookie name.
    pub name: String,
    /// Lower-case attribute names present.
    pub attributes: Vec<String>,
    /// The cookie is being deleted (Max-Age <= 0, or an empty value with an Expires).
    pub deletion: bool,
}

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "encryption.cookie-flags",
        category: Category::Encryption,
        severity: Severity::Medium,
        profile: Profile::Passive,
        title: "Cookies set without Secure, HttpOnly or SameSite",
        description: "Parses the Set-Cookie headers of the API's responses and reports, one finding per missing \
            attribute: cookies without Secure on HTTPS (sent in cleartext on any http:// request to the host), \
            session-like cookies (names such as session, sid, token, auth, jwt) without HttpOnly (readable by \
            any injected script), and cookies without SameSite (sent on cross-site requests). Deletions are \
            ignored; cookie values never appear in the evidence.",
        remediation: Remediation {
            summary: "Set session and credential cookies with `Secure; HttpOnly; SameSite=Lax` (or Strict).",
            actix_web: "Build cookies with `Cookie::build(\"session\", value).secure(true).http_only(true)\
                .same_site(SameSite::Lax).path(\"/\").finish()`; with actix-session, \
                `SessionMiddleware::builder(store, key).cookie_secure(true).cookie_http_only(true)\
                .cookie_same_site(SameSite::Lax)`.",
            axum: "With axum-extra's `CookieJar`, add `Cookie::build((\"session\", value)).secure(true)\
                .http_only(true).same_site(SameSite::Lax).path(\"/\")`; with tower-sessions, \
                `SessionManagerLayer::new(store).with_secure(true).with_http_only(true)\
                .with_same_site(SameSite::Lax)`.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-614", "CWE-1004", "CWE-1275"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let read = baselines(&ctx, CHECK.info.id).await;
    for Page { endpoint, exchange } in &read.pages {
        for (attribute, names) in missing_attributes(&exchange.response, ctx.origin.https) {
            let request = Request::get(&ctx.origin, endpoint.path.clone()).identity(ctx.primary_identity());
            let session = names.iter().any(|n| session_like(n));
            let (severity, why) = match attribute {
                SECURE => (
                    if session { Severity::Medium } else { Severity::Low },
                    "the browser also sends it over plain http:// to this host, where anyone on the path reads it",
                ),
                HTTP_ONLY => (Severity::Medium, "any script running in the page (XSS) can read and exfiltrate it"),
                _ => (Severity::Low, "browsers attach it to cross-site requests (CSRF) under their defaults only"),
            };
            reporter.observe(Observation {
                endpoint: Some(endpoint.clone()),
                component: Some(attribute.to_string()),
                severity: Some(severity),
                confidence: Confidence::Confirmed,
                title: Some(format!("Cookie set without the {attribute} attribute")),
                description: format!(
                    "GET {} sets {} without {attribute}: {why}.",
                    endpoint.path,
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
                evidence: vec![
                    ctx.evidence(
                        exchange,
                        format!("Set-Cookie for {} has no {attribute} attribute.", names.join(", ")),
                    ),
                ],
                reproduce: ctx.curl(&request),
            });
        }
    }
    read.verdict("Set-Cookie headers read")
}

/// Parses one Set-Cookie value (RFC 6265 section 5.2, attribute values ignored except for deletion).
pub fn parse_set_cookie(value: &str) -> Option<SetCookie> {
    let mut parts = value.split(';');
    let (name, cookie_value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut attributes = Vec::new();
    let mut deletion = false;
    for part in parts {
        let (attr, v) = part.split_once('=').unwrap_or((part, ""));
        let attr = attr.trim().to_ascii_lowercase();
        if attr == "max-age" && v.trim().parse::<i64>().is_ok_and(|age| age <= 0) {
            deletion = true;
        }
        if attr == "expires" && cookie_value.trim().is_empty() {
            deletion = true;
        }
        attributes.push(attr);
    }
    Some(SetCookie { name: name.to_string(), attributes, deletion })
}

/// Whether a cookie name looks like a session or credential cookie.
pub fn session_like(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| SESSION_LIKE.iter().any(|s| word == *s || (s.len() > 3 && word.contains(s))))
}

/// For each missing attribute (Secure, HttpOnly, SameSite order), the cookie names missing it.
pub fn missing_attributes(response: &Response, https: bool) -> Vec<(&'static str, Vec<String>)> {
    let cookies: Vec<SetCookie> =
        response.header_all("set-cookie").iter().filter_map(|v| parse_set_cookie(v)).filter(|c| !c.deletion).collect();
    let lacking = |attribute: &str, applies: &dyn Fn(&SetCookie) -> bool| -> Vec<String> {
        let mut names: Vec<String> = cookies
            .iter()
            .filter(|c| applies(c) && !c.attributes.iter().any(|a| a == attribute))
            .map(|c| c.name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    let mut out = Vec::new();
    let secure = if https { lacking("secure", &|_| true) } else { Vec::new() };
    let http_only = lacking("httponly", &|c| session_like(&c.name));
    let same_site = lacking("samesite", &|_| true);
    for (attribute, names) in [(SECURE, secure), (HTTP_ONLY, http_only), (SAME_SITE, same_site)] {
        if !names.is_empty() {
            out.push((attribute, names));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::fixture::exchange;

    fn missing(cookies: &[&str], https: bool) -> Vec<(&'static str, Vec<String>)> {
        let headers: Vec<(&str, &str)> = cookies.iter().map(|c| ("Set-Cookie", *c)).collect();
        missing_attributes(&exchange("https://h/", 200, &headers, "").response, https)
    }

    #[test]
    fn parses_names_attributes_and_deletions() {
        let c = parse_set_cookie("session=abc; Path=/; Secure; HttpOnly; SameSite=Lax").unwrap();
        assert_eq!(c.name, "session");
        assert_eq!(c.attributes, vec!["path", "secure", "httponly", "samesite"]);
        assert!(!c.deletion);
        assert!(parse_set_cookie("session=; Max-Age=0").unwrap().deletion);
        assert!(parse_set_cookie("session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT").unwrap().deletion);
        assert_eq!(parse_set_cookie("garbage"), None);
    }

    #[test]
    fn session_names_are_recognised() {
        for name in ["session", "JSESSIONID", "connect.sid", "access_token", "auth", "XSRF-TOKEN", "user_id"] {
            assert!(session_like(name), "{name}");
        }
        for name in ["theme", "lang", "consent", "tz"] {
            assert!(!session_like(name), "{name}");
        }
    }

    #[test]
    fn reports_each_missing_attribute_once_with_every_cookie() {
        let found = missing(&["session=x; Path=/", "theme=dark; Path=/; SameSite=Lax"], true);
        assert_eq!(
            found,
            vec![
                (SECURE, vec!["session".to_string(), "theme".to_string()]),
                (HTTP_ONLY, vec!["session".to_string()]),
                (SAME_SITE, vec!["session".to_string()]),
            ]
        );
    }

    #[test]
    fn well_set_cookies_deletions_and_plain_http_secure_are_not_reported() {
        assert!(missing(&["session=x; Path=/; Secure; HttpOnly; SameSite=Strict"], true).is_empty());
        // A non-session cookie readable by script is fine.
        assert!(missing(&["theme=dark; Secure; SameSite=Lax"], true).is_empty());
        assert!(missing(&["session=; Max-Age=0"], true).is_empty());
        // Over plain HTTP, Secure is the plaintext check's business (the cookie would not even be stored).
        assert!(missing(&["session=x; HttpOnly; SameSite=Lax"], false).is_empty());
        assert!(missing(&[], true).is_empty());
    }
}

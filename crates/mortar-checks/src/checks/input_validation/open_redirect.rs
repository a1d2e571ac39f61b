//! `input-validation.open-redirect`: an input sends the caller's browser to
//! any site, proven by the redirect the answer gives.
//!
//! Inputs of GET operations that carry a destination (by their name:
//! `redirect`, `next`, `continue`, `return_to`, `url`...; or by their value: an
//! absolute URL or a path) get a URL on a host that cannot exist
//! (`mortar-redirect.invalid`, a reserved name: nothing is ever contacted), as
//! `https://`, scheme-relative `//` and `/\` forms. Reported when the answer
//! redirects there (a 3xx `Location`, or a `Refresh` header) as a browser
//! would resolve it, and the original value does not. Standard profile (GET
//! only, nothing changes); at most [`MAX_INPUTS`] inputs per scan and
//! [`MAX_REQUESTS_PER_INPUT`] requests per input.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::inject::{Input, InputProbe, Probed, planned_inputs, probe_each, report_all, with_value};
use crate::probes::spec::defined_at;
use mortar_engine::Exchange;
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "input-validation.open-redirect",
        category: Category::InputValidation,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "Open redirect: an input sends the caller to any site",
        description: "For inputs of GET operations that carry a destination (by name: redirect, next, continue, \
            return_to, url...; or by value: a URL or a path), at most 60 per scan and 4 requests each, sends a \
            URL on the reserved host `mortar-redirect.invalid` (`https://`, `//` and `/\\` forms; nothing is \
            contacted). Reported when the answer redirects there (3xx `Location` or `Refresh`, resolved as a \
            browser would) and the original value does not.",
        remediation: Remediation {
            summary: "Redirect only to destinations you choose: accept a key from a fixed map, or a relative path \
                that starts with exactly one `/` (not `//`, not `/\\`, no scheme); send anything else to a \
                default page.",
            actix_web: "Before `HttpResponse::SeeOther().insert_header((LOCATION, next))`, accept `next` only if \
                it starts with `/`, its second character is neither `/` nor `\\`, and it has no control \
                characters; or map it through an allow-list of hosts parsed with the `url` crate.",
            axum: "Before `Redirect::to(&next)`, accept `next` only if it starts with `/`, its second character is \
                neither `/` nor `\\`, and it has no control characters; or parse it with the `url` crate and \
                compare the host to an allow-list.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-601"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Inputs probed per scan.
pub const MAX_INPUTS: usize = 60;
/// Requests per input at most: the original and the three forms.
pub const MAX_REQUESTS_PER_INPUT: usize = 4;
/// Inputs probed at once.
const CONCURRENT_INPUTS: usize = 4;
/// A host that cannot exist (RFC 2606 reserves `.invalid`).
const HOST: &str = "mortar-redirect.invalid";

/// Words of an input's name that say it carries a destination.
const DESTINATION_WORDS: &[&str] = &[
    "redirect",
    "redir",
    "next",
    "continue",
    "return",
    "returnto",
    "returnurl",
    "goto",
    "dest",
    "destination",
    "target",
    "callback",
    "forward",
    "url",
    "uri",
    "link",
    "location",
    "back",
    "to",
    "r",
    "u",
    "success",
    "failure",
    "cancel",
    "done",
    "origin",
    "referer",
    "referrer",
    "from",
    "out",
    "exit",
    "landing",
];

/// Whether `input` carries a destination: by a word of its name, or by its
/// value (an absolute URL, or a path).
fn carries_destination(input: &Input) -> bool {
    let value = &input.original;
    let value_says = value.starts_with("http://") || value.starts_with("https://") || value.starts_with('/');
    let name = input.name.to_ascii_lowercase();
    let name_says = crate::probes::pages::tokens(&name, |c| c.is_ascii_alphanumeric()).into_iter().any(|(_, word)| {
        DESTINATION_WORDS.contains(&word) || word.starts_with("redirect") || word.starts_with("return")
    });
    !input.numeric && (value_says || name_says)
}

/// The values sent: (form, value).
fn payloads() -> [(&'static str, String); 3] {
    [
        ("absolute URL", format!("https://{HOST}/mortar")),
        ("scheme-relative `//`", format!("//{HOST}/mortar")),
        ("`/\\` (read by browsers as `//`)", format!("/\\{HOST}/mortar")),
    ]
}

/// Where the answer sends a browser, if anywhere: a 3xx `Location`, or a
/// `Refresh` header's `url=`.
fn destination(exchange: &Exchange) -> Option<String> {
    let response = &exchange.response;
    if (300..400).contains(&response.status)
        && let Some(location) = response.header("location")
    {
        return Some(location);
    }
    let refresh = response.header("refresh")?;
    let at = refresh.to_ascii_lowercase().find("url=")?;
    Some(refresh[at + 4..].trim_matches(|c| c == '\'' || c == '"' || c == ' ').to_string())
}

/// The host a browser goes to for `location`: an absolute URL's, a
/// scheme-relative one's (browsers read `\` as `/` there), or none for a path.
fn host_of(location: &str) -> Option<String> {
    let trimmed = location.trim_start_matches(|c: char| c.is_ascii_whitespace() || c.is_ascii_control());
    let normalised = trimmed.replace('\\', "/");
    let rest = if let Some((scheme, rest)) = normalised.split_once(':')
        && !scheme.is_empty()
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
    {
        // `https:` followed by any number of slashes: browsers take what follows as the host.
        rest.trim_start_matches('/')
    } else {
        normalised.strip_prefix("//")?.trim_start_matches('/')
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// What proves the redirect: the form, the value, where it went, and the two answers.
struct Redirected {
    form: &'static str,
    value: String,
    location: String,
    answer: Arc<Exchange>,
    original: Arc<Exchange>,
}

async fn probe(ctx: &ScanContext, op: &ScanOperation, input: Input) -> Probed<Redirected> {
    let mut probe = InputProbe::new(ctx, CHECK.info.id, op, &input, MAX_REQUESTS_PER_INPUT);
    let redirected = redirect(&mut probe).await;
    Probed::of(&probe, redirected)
}

async fn redirect(probe: &mut InputProbe<'_>) -> Option<Redirected> {
    let original = probe.send(&probe.input.original.clone()).await?;
    if destination(&original).and_then(|l| host_of(&l)).as_deref() == Some(HOST) {
        return None;
    }
    for (form, value) in payloads() {
        let Some(answer) = probe.send(&value).await else { continue };
        if let Some(location) = destination(&answer)
            && host_of(&location).as_deref() == Some(HOST)
        {
            return Some(Redirected { form, value, location, answer, original });
        }
    }
    None
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let (planned, skipped) = planned_inputs(&ctx, CHECK.info.id, MAX_INPUTS, |op, input| {
        op.endpoint.method == "GET" && carries_destination(input)
    })
    .await;
    if planned.is_empty() {
        return CheckVerdict::Skipped("no GET operation has an input that carries a destination".into());
    }
    let probed = probe_each(&ctx, planned, CONCURRENT_INPUTS, probe).await;
    report_all(&ctx, probed, (skipped, MAX_INPUTS), ("destination input", "redirect anywhere"), |op, input, found| {
        report(&ctx, &reporter, op, input, found)
    })
}

fn report(ctx: &ScanContext, reporter: &Reporter, op: &ScanOperation, input: &Input, found: Redirected) {
    let place = if op.source.is_some() { format!(" (defined at {})", defined_at(op)) } else { String::new() };
    let description = format!(
        "{} {}{place}: its {} sends the caller anywhere: set to `{}` ({}), the answer (HTTP {}) redirects to \
         `{}`, another site, while the original value `{}` does not. A link to this API on a trusted host can \
         take its users to a phishing page, or carry an OAuth code or token away in the redirect.",
        op.endpoint.method,
        op.endpoint.path,
        input.describe(),
        found.value,
        found.form,
        found.answer.response.status,
        found.location,
        input.original,
    );
    let evidence = vec![
        ctx.evidence(&found.answer, format!("Redirected to `{}`.", found.location)),
        ctx.evidence(&found.original, "The original value: no redirect to another site."),
    ];
    let reproduce = ctx.curl(&with_value(ctx, op, input, &found.value));
    let mut observation = Observation::confirmed(op.endpoint.clone(), description, evidence, reproduce);
    observation.component = Some(input.name.clone());
    observation.confidence = Confidence::Confirmed;
    reporter.observe(observation);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, original: &str) -> Input {
        Input::query(name, original)
    }

    #[test]
    fn destination_inputs_are_told_by_name_or_value() {
        assert!(carries_destination(&input("continue", "/home")));
        assert!(carries_destination(&input("redirect_uri", "x")));
        assert!(carries_destination(&input("returnTo", "x")));
        assert!(carries_destination(&input("q", "https://example.com/")));
        assert!(!carries_destination(&input("sort", "price")));
        assert!(!carries_destination(&input("status", "open")));
    }

    #[test]
    fn hosts_are_resolved_as_a_browser_would() {
        assert_eq!(host_of("https://mortar-redirect.invalid/mortar").as_deref(), Some(HOST));
        assert_eq!(host_of("//mortar-redirect.invalid/x").as_deref(), Some(HOST));
        assert_eq!(host_of("/\\mortar-redirect.invalid/x").as_deref(), Some(HOST));
        assert_eq!(host_of("https:mortar-redirect.invalid").as_deref(), Some(HOST));
        assert_eq!(host_of("https://user@Mortar-Redirect.invalid:8443/").as_deref(), Some(HOST));
        assert_eq!(host_of("/home"), None);
        assert_eq!(host_of("/home?next=//mortar-redirect.invalid"), None, "a path whose query names the host");
        assert_eq!(host_of("home"), None);
    }

    #[test]
    fn refresh_headers_count_and_a_200_location_does_not() {
        let ex = |status: u16, headers: &[(&str, &str)]| {
            crate::probes::fixture::exchange("http://127.0.0.1/out", status, headers, "")
        };
        assert_eq!(destination(&ex(303, &[("location", "//x.invalid/")])).as_deref(), Some("//x.invalid/"));
        assert_eq!(
            destination(&ex(200, &[("refresh", "0; url=https://x.invalid/")])).as_deref(),
            Some("https://x.invalid/")
        );
        assert_eq!(destination(&ex(201, &[("location", "https://x.invalid/")])), None);
    }
}

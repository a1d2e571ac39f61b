//! `ssrf.canary-fetch`: the server fetched the canary URL a probe gave one of
//! its URL-like inputs. The probes are the session `probes::ssrf` runs once
//! per scan for this check and `unsafe-consumption.redirect-followed`.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::spec::defined_at;
use crate::probes::ssrf::{WAIT, hit_text, outcome, reproduce};
use mortar_model::{Category, CheckInfo, Endpoint, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
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
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

fn place(ctx: &ScanContext, endpoint: &Endpoint) -> String {
    ctx.operation(endpoint)
        .filter(|o| o.source.is_some())
        .map(|o| format!(" (defined at {})", defined_at(o)))
        .unwrap_or_default()
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
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

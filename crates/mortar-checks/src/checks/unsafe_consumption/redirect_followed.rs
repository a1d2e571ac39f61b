//! `unsafe-consumption.redirect-followed`: a server-side fetch followed the
//! canary's redirect, judged from the SSRF probe session (`probes::ssrf`).

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use crate::probes::ssrf::{Probe, hit_text, outcome, reproduce};
use mortar_model::{Category, CheckInfo, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
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
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
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

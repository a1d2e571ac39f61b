//! `rate-limiting.sensitive-operation-unlimited`: operations that attackers
//! hammer (sign-in, password reset, one-time codes, search) answering a
//! small burst with no sign of a limit (OWASP API4:2023).
//!
//! The burst is bounded (`--rate-burst`, default 15 requests) and uses only
//! what cannot hurt anyone: credential operations get a user that does not
//! exist (every input that names a user, in the path, the query or the JSON
//! body at any depth, names a made-up one, and every secret is wrong), and operations
//! that need credentials are called only as an identity marked
//! `expendable = true`. Writes (a sign-in is a POST) are sent only in the
//! active profile; the standard profile tests the safe-method ones.
//!
//! Reported when every answer of the burst came back, none was 429 or 503,
//! none carried a rate-limit header (`RateLimit-*`, `X-RateLimit-*`,
//! `Retry-After`), and the answers stayed alike (no lock-out or captcha).

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::sign_in::{aimed_at_nobody, kind};
use crate::probes::spec::{defined_at, described, no_description};
use mortar_engine::Exchange;
use mortar_model::{
    Category, CheckInfo, Confidence, Identity, Observation, Profile, References, Remediation, Severity,
};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "rate-limiting.sensitive-operation-unlimited",
        category: Category::RateLimiting,
        severity: Severity::Medium,
        profile: Profile::Standard,
        title: "No rate limit on a sign-in, reset, one-time-code or search operation",
        description: "Sends a small burst (--rate-burst, default 15) to operations attackers hammer: sign-in, \
            token, password reset, one-time codes (by path words and operationId) and search. Credential \
            operations get a user that does not exist; operations that need credentials run only as an identity \
            marked `expendable = true`. POST operations are tested only in the active profile. Reported when all \
            answers came back alike with no 429/503 and no RateLimit-*, X-RateLimit-* or Retry-After header.",
        remediation: Remediation {
            summary: "Limit attempts per account and per client on every credential and expensive operation \
                (e.g. 5 sign-ins per minute), answer 429 with Retry-After, and add lock-out or step-up after \
                repeated failures.",
            actix_web: "Wrap the sign-in and reset routes with `actix-governor` (`Governor::new(&GovernorConfigBuilder::\
                default().per_second(12).burst_size(5).finish().unwrap())`) and count failures per account in \
                the handler to lock or slow down repeated attempts.",
            axum: "Add `tower_governor::GovernorLayer` (or a `tower::limit` layer keyed on client and account) to the \
                Router that holds the sign-in and reset routes, answering 429 with `Retry-After`, and count failed \
                attempts per account in the handler.",
        },
        references: References { owasp_api: &["API4:2023", "API2:2023"], cwe: &["CWE-307", "CWE-770"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Whether a status is the operation's own answer to a guess (accepted,
/// refused or invalid), not "no such route", a redirect or a server failure:
/// a burst of 404s says nothing about the operation's rate limit.
fn handled(status: u16) -> bool {
    (200..300).contains(&status) || matches!(status, 400 | 401 | 403 | 409 | 422)
}

/// Whether the reachability sweep got an answer other than 404 or 405 from
/// the operation's own method: then a 404 for a made-up user is the
/// handler's "no such user", not a missing route.
async fn route_answered(ctx: &ScanContext, op: &ScanOperation) -> bool {
    let sweep = ctx.reachability(CHECK.info.id).await;
    sweep.get(&op.endpoint).is_some_and(|reaches| {
        reaches.iter().any(|r| {
            r.probe == op.endpoint.method && r.result.as_ref().is_ok_and(|ex| !matches!(ex.response.status, 404 | 405))
        })
    })
}

fn limited(ex: &Exchange) -> bool {
    matches!(ex.response.status, 429 | 503)
        || ex.response.headers.iter().any(|(n, _)| {
            let n = n.to_ascii_lowercase();
            n.starts_with("ratelimit")
                || n.starts_with("x-ratelimit")
                || n.starts_with("x-rate-limit")
                || n == "retry-after"
        })
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    if !described(&ctx) {
        return no_description();
    }
    let active = ctx.settings.profile == Profile::Active;
    let expendable: Option<Arc<Identity>> = ctx.identities.iter().find(|i| i.expendable).cloned();
    let burst = ctx.settings.rate_burst.max(2);
    let marker: String = format!("{:x}", std::process::id() ^ 0x5eed);
    let mut tested = 0;
    let mut passed_over = Vec::new();
    for op in &ctx.operations {
        let Some(kind) = kind(op) else { continue };
        if !op.is_safe() && !active {
            passed_over.push(format!("{} {} (a write: active profile)", op.endpoint.method, op.endpoint.path));
            continue;
        }
        let mut request = ctx.request(&op.endpoint.method, &op.endpoint);
        let credential_op = kind != "search";
        let aimed = credential_op.then(|| aimed_at_nobody(op, &marker)).flatten();
        if let Some(aimed) = &aimed {
            // Sent without credentials: the burst is a stranger guessing.
            request.target = aimed.target.clone();
            request.body = aimed.body.clone().unwrap_or_default();
        } else if credential_op && !op.is_safe() {
            passed_over.push(format!(
                "{} {} (no user input to aim at a non-existent user)",
                op.endpoint.method, op.endpoint.path
            ));
            continue;
        } else if op.secured {
            match &expendable {
                Some(identity) => request = request.identity(Some(identity.clone())),
                None => {
                    passed_over
                        .push(format!("{} {} (needs an expendable identity)", op.endpoint.method, op.endpoint.path));
                    continue;
                }
            }
        }
        // A 429 is the answer looked for: not waited out and retried.
        request.options.no_retry = true;
        tested += 1;
        let sends = (0..burst).map(|_| ctx.send(CHECK.info.id, Some(&op.endpoint), request.clone()));
        let answers: Vec<Exchange> =
            futures::future::join_all(sends).await.into_iter().filter_map(Result::ok).collect();
        if answers.len() < burst || answers.iter().any(limited) {
            continue;
        }
        let first = answers[0].response.status;
        if answers.iter().any(|a| a.response.status != first) {
            continue;
        }
        let own_answer = handled(first) || (first == 404 && route_answered(&ctx, op).await);
        if !own_answer {
            passed_over.push(format!(
                "{} {} (answered HTTP {first}: not an answer of the operation itself)",
                op.endpoint.method, op.endpoint.path
            ));
            tested -= 1;
            continue;
        }
        let last = &answers[answers.len() - 1];
        let mut observation = Observation::confirmed(
            op.endpoint.clone(),
            format!(
                "{} {} is a {kind} operation (defined at {}). {burst} requests {} were all answered HTTP {first}, \
                 with no 429 or 503 and no rate-limit or Retry-After header: nothing slows down guessing.",
                op.endpoint.method,
                op.endpoint.path,
                defined_at(op),
                if aimed.is_some() {
                    "for a user that does not exist".to_string()
                } else {
                    match &expendable {
                        Some(identity) if op.secured => format!("as the expendable identity `{}`", identity.name),
                        _ => "without credentials".to_string(),
                    }
                },
            ),
            vec![
                ctx.evidence(&answers[0], "The first request of the burst."),
                ctx.evidence(last, format!("Request {burst} of {burst}: answered like the first.")),
            ],
            // One curl, the same request `burst` times (curl repeats its options for every --url).
            format!(
                "{}{}",
                ctx.curl(&request),
                format!(" --url {}", crate::context::reproduce::shell_quote(&request.url())).repeat(burst - 1)
            ),
        );
        // No limit seen up to the burst's size; one a little higher cannot be ruled out.
        observation.confidence = Confidence::Firm;
        reporter.observe(observation);
    }
    if tested == 0 {
        let why = if passed_over.is_empty() {
            "no sign-in, reset, one-time-code or search operation in the description".to_string()
        } else {
            format!("not tested: {}", passed_over.join("; "))
        };
        return CheckVerdict::Skipped(why);
    }
    let mut text = format!("{tested} operation(s) sent a burst of {burst}");
    if !passed_over.is_empty() {
        text.push_str(&format!("; not tested: {}", passed_over.join("; ")));
    }
    CheckVerdict::Ran(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_operations_own_answers_are_judged() {
        for status in [200, 204, 400, 401, 403, 409, 422] {
            assert!(handled(status), "{status}");
        }
        for status in [301, 302, 404, 405, 410, 500, 501, 502] {
            assert!(!handled(status), "{status}");
        }
    }
}

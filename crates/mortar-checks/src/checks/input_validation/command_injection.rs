//! `input-validation.command-injection`: an input that ends up in a shell
//! command line, proven by the shell doing arithmetic the payload only asks for.
//!
//! Each input (path and query parameters, JSON body properties) gets the
//! original value followed by a command separator (`;`, `|`, newline, `$(..)`,
//! backticks, and the same after a closing quote) and `echo mrtr$((A*B))z`.
//! The payload spells the factors, never the product: the product framed by
//! the marker letters in the answer is what a shell's arithmetic expansion
//! writes, and it must follow other factors when sent again. The only command
//! sent is `echo`. Active profile; at most [`MAX_INPUTS`] inputs per scan and
//! [`MAX_REQUESTS_PER_INPUT`] requests per input.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::inject::{
    Evaluated, Input, InputProbe, MarkerForm, Tally, evaluated_by, planned_inputs, probe_each,
};
use crate::probes::spec::defined_at;
use mortar_model::{Category, CheckInfo, Confidence, Observation, Profile, References, Remediation, Severity};
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "input-validation.command-injection",
        category: Category::InputValidation,
        severity: Severity::Critical,
        profile: Profile::Active,
        title: "OS command injection: an input is run by a shell",
        description: "Appends a command separator (`;`, `|`, newline, `$(..)`, backticks, and the same after a \
            closing quote) and `echo mrtr$((A*B))z` to each path, query and JSON body input of the operations \
            (at most 60 per scan, 10 requests each). Reported when the answer carries the product of A and B \
            framed by the marker, which the payload never spells and the original answer does not carry, and \
            carries the new product when sent again with other factors. The only command sent is `echo`.",
        remediation: Remediation {
            summary: "Never build a shell command line from input: run the program directly with the input as \
                one argument (no shell), validate it against what it must be (a host name, a file name), and \
                prefer a library call to a process.",
            actix_web: "Use `std::process::Command::new(\"program\").arg(&value)` (or `tokio::process::Command`), \
                never `Command::new(\"sh\").arg(\"-c\").arg(format!(..))`; validate the `web::Path`/`web::Query` \
                value with a newtype that refuses anything but the expected characters, answering 400.",
            axum: "Use `tokio::process::Command::new(\"program\").arg(&value)` with no shell in between, never \
                `sh -c` with a formatted string; validate the `Path`/`Query` extractor's value (a newtype with a \
                strict pattern) and refuse the rest with 400.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-78"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Inputs probed per scan.
pub const MAX_INPUTS: usize = 60;
/// Requests per input at most: the original, one per form, one to confirm.
pub const MAX_REQUESTS_PER_INPUT: usize = 10;
/// Inputs probed at once.
const CONCURRENT_INPUTS: usize = 4;

/// The separators a POSIX shell honours, each followed by the marker's `echo`.
const FORMS: &[MarkerForm] = &[
    MarkerForm { name: "`;` separator", build: |v, a, b| format!("{v};echo mrtr$(({a}*{b}))z") },
    MarkerForm { name: "pipe", build: |v, a, b| format!("{v}|echo mrtr$(({a}*{b}))z") },
    MarkerForm { name: "newline", build: |v, a, b| format!("{v}\necho mrtr$(({a}*{b}))z") },
    MarkerForm { name: "command substitution", build: |v, a, b| format!("{v}$(echo mrtr$(({a}*{b}))z)") },
    MarkerForm { name: "backticks", build: |v, a, b| format!("{v}`echo mrtr$(({a}*{b}))z`") },
    MarkerForm { name: "closed single quote", build: |v, a, b| format!("{v}';echo mrtr$(({a}*{b}))z;'") },
    MarkerForm { name: "closed double quote", build: |v, a, b| format!("{v}\";echo mrtr$(({a}*{b}))z;\"") },
];

struct Probed {
    input: Input,
    requests: usize,
    rate_limited: bool,
    evaluated: Option<Evaluated>,
}

async fn probe(ctx: &ScanContext, op: &ScanOperation, input: Input) -> Probed {
    let mut probe = InputProbe::new(ctx, CHECK.info.id, op, &input, MAX_REQUESTS_PER_INPUT);
    let evaluated = evaluated_by(&mut probe, FORMS).await;
    let (requests, rate_limited) = (probe.requests, probe.rate_limited);
    Probed { input, requests, rate_limited, evaluated }
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let (planned, skipped) = planned_inputs(&ctx, CHECK.info.id, MAX_INPUTS, |_, _| true).await;
    if planned.is_empty() {
        return CheckVerdict::Skipped("no operation has a path, query or JSON body input to probe".into());
    }
    let probed = probe_each(&ctx, planned, CONCURRENT_INPUTS, probe).await;
    let mut tally = Tally {
        inputs: probed.len(),
        requests: probed.iter().map(|(_, p)| p.requests).sum(),
        found: 0,
        rate_limited: probed.iter().filter(|(_, p)| p.rate_limited).count(),
        skipped,
        max: MAX_INPUTS,
    };
    for (i, p) in probed {
        let Some(evaluated) = p.evaluated else { continue };
        tally.found += 1;
        report(&ctx, &reporter, &ctx.operations[i], &p.input, evaluated);
    }
    CheckVerdict::Ran(tally.summary("input", "run by a shell"))
}

fn report(ctx: &ScanContext, reporter: &Reporter, op: &ScanOperation, input: &Input, found: Evaluated) {
    let place = if op.source.is_some() { format!(" (defined at {})", defined_at(op)) } else { String::new() };
    let (first_marker, again_marker) = (&found.seen, &found.seen_again);
    let description = format!(
        "{} {}{place}: its {} is run by a shell: with `{}` appended ({}), the answer carries `{first_marker}`, \
         the result of the shell's arithmetic, which the payload does not spell and the original answer does \
         not carry; other factors gave `{again_marker}`. Anyone who can call the operation runs commands on \
         the server as its process.",
        op.endpoint.method,
        op.endpoint.path,
        input.describe(),
        found.value.strip_prefix(input.original.as_str()).unwrap_or(&found.value).escape_debug(),
        found.form,
    );
    let evidence = vec![
        ctx.evidence(&found.first, format!("The payload's product, `{first_marker}`, in the answer.")),
        ctx.evidence(&found.again, format!("Other factors, their product `{again_marker}`.")),
        ctx.evidence(&found.original, "The original value: no marker."),
    ];
    let reproduce = ctx.curl(&crate::probes::inject::with_value(ctx, op, input, &found.value));
    let mut observation = Observation::confirmed(op.endpoint.clone(), description, evidence, reproduce);
    observation.component = Some(input.name.clone());
    observation.confidence = Confidence::Confirmed;
    reporter.observe(observation);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::inject::marker;

    #[test]
    fn no_form_spells_its_product_and_each_only_echoes() {
        for form in FORMS {
            let value = (form.build)("db.internal", 4127, 7);
            assert!(value.starts_with("db.internal"), "{}", form.name);
            assert!(!value.contains(&marker(4127 * 7)), "{}: {value}", form.name);
            assert!(value.contains("echo mrtr$((4127*7))z"), "{}: {value}", form.name);
            for word in ["rm ", "curl", "wget", "sleep", ">"] {
                assert!(!value.contains(word), "{}: {value}", form.name);
            }
        }
    }
}

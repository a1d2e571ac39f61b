//! `input-validation.template-injection`: an input that becomes part of a
//! server-side template's source, proven by the template engine doing
//! arithmetic the payload only asks for.
//!
//! Each input (path and query parameters, JSON body properties) gets the
//! original value followed by `mrtr`, an expression `A*B` in one engine
//! family's delimiters (`{{..}}` for Jinja2, Twig, Nunjucks and their kin,
//! `${..}` for FreeMarker, Mako, EL and JavaScript template literals,
//! `<%= .. %>` for ERB and EJS, `#{..}` for Ruby interpolation, Pug and SpEL,
//! `{..}` for Smarty, `@(..)` for Razor) and `z`. The payload spells the
//! factors, never the product: the product framed by the marker letters in
//! the answer is what an engine writes, and it must follow other factors when
//! sent again. No payload calls a function or reads an object. Active
//! profile; at most [`MAX_INPUTS`] inputs per scan and
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
        id: "input-validation.template-injection",
        category: Category::InputValidation,
        severity: Severity::Critical,
        profile: Profile::Active,
        title: "Server-side template injection: an input is evaluated as template source",
        description: "Appends `mrtr`, an expression `A*B` in one template family's delimiters (`{{..}}`, \
            `${..}`, `<%= .. %>`, `#{..}`, `{..}`, `@(..)`) and `z` to each path, query and JSON body input of \
            the operations (at most 60 per scan, 9 requests each). Reported when the answer carries the product \
            of A and B framed by the marker, which the payload never spells and the original answer does not \
            carry, and carries the new product when sent again with other factors. No payload calls a function.",
        remediation: Remediation {
            summary: "Never build template source from input: templates are constants of the application, and \
                input reaches them only as context variables (rendered and escaped as data). Where users must \
                write templates, use a logic-less engine in a sandbox.",
            actix_web: "With minijinja or tera, load the template once (`env.add_template(\"mail\", MAIL)`) and \
                render it with the input as context (`tmpl.render(context! { subject => &body.subject })`), \
                never `render_str(&format!(..))` or `Tera::one_off` on a string that contains input.",
            axum: "With minijinja or tera, keep the templates as constants registered at start-up and pass the \
                `Json`/`Query` values as context (`context! { subject => &body.subject }`), never \
                `render_str(&format!(..))` or `Tera::one_off` over a string that contains input.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-1336", "CWE-94"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Inputs probed per scan.
pub const MAX_INPUTS: usize = 60;
/// Requests per input at most: the original, one per form, one to confirm.
pub const MAX_REQUESTS_PER_INPUT: usize = 8;
/// Inputs probed at once.
const CONCURRENT_INPUTS: usize = 4;

/// One expression per family of template engines' delimiters.
const FORMS: &[MarkerForm] = &[
    MarkerForm { name: "`{{..}}` (Jinja2, Twig, Nunjucks, Tera)", build: |v, a, b| format!("{v}mrtr{{{{{a}*{b}}}}}z") },
    MarkerForm {
        name: "`${..}` (FreeMarker, Mako, EL, template literals)",
        build: |v, a, b| format!("{v}mrtr${{{a}*{b}}}z"),
    },
    MarkerForm { name: "`<%= .. %>` (ERB, EJS)", build: |v, a, b| format!("{v}mrtr<%= {a}*{b} %>z") },
    MarkerForm { name: "`#{..}` (Ruby, Pug, SpEL)", build: |v, a, b| format!("{v}mrtr#{{{a}*{b}}}z") },
    MarkerForm { name: "`{..}` (Smarty)", build: |v, a, b| format!("{v}mrtr{{{a}*{b}}}z") },
    MarkerForm { name: "`@(..)` (Razor)", build: |v, a, b| format!("{v}mrtr@({a}*{b})z") },
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
    CheckVerdict::Ran(tally.summary("input", "evaluated as a template"))
}

fn report(ctx: &ScanContext, reporter: &Reporter, op: &ScanOperation, input: &Input, found: Evaluated) {
    let place = if op.source.is_some() { format!(" (defined at {})", defined_at(op)) } else { String::new() };
    let (first_marker, again_marker) = (&found.seen, &found.seen_again);
    let description = format!(
        "{} {}{place}: its {} is evaluated as template source: with `{}` appended ({}), the answer carries \
         `{first_marker}`, the template engine's result, which the payload does not spell and the original \
         answer does not carry; other factors gave `{again_marker}`. Template expressions reach the engine's \
         objects, which in most engines is code execution on the server.",
        op.endpoint.method,
        op.endpoint.path,
        input.describe(),
        found.value.strip_prefix(input.original.as_str()).unwrap_or(&found.value),
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
    fn no_form_spells_its_product_or_calls_anything() {
        for form in FORMS {
            let value = (form.build)("Ana", 4127, 7);
            assert!(value.starts_with("Anamrtr") && value.ends_with('z'), "{}: {value}", form.name);
            assert!(value.contains("4127*7") && !value.contains(&marker(4127 * 7)), "{}: {value}", form.name);
            assert!(!value.contains('(') || value.contains("@(4127*7)"), "{}: {value}", form.name);
            assert!(!value.contains('.'), "{}: {value}", form.name);
        }
    }
}

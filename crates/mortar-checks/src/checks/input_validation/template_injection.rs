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
use crate::context::{Reporter, ScanContext};
use crate::probes::inject::{MarkerCheck, MarkerForm, run_marker_check};
use mortar_model::{Category, CheckInfo, Profile, References, Remediation, Severity};
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

/// The check's probe and words.
static MARKER: MarkerCheck = MarkerCheck {
    check: CHECK.info.id,
    forms: FORMS,
    max_inputs: MAX_INPUTS,
    max_requests: MAX_REQUESTS_PER_INPUT,
    found: "evaluated as a template",
    evaluated_as: "evaluated as template source",
    writer: "the template engine",
    impact: "Template expressions reach the engine's objects, which in most engines is code execution on the server.",
};

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    run_marker_check(&ctx, &reporter, &MARKER).await
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

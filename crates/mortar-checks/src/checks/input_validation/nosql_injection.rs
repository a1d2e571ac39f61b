//! `input-validation.nosql-injection`: an input that reaches a document
//! database's query as a value of any type, so that an object in its place
//! is read as a query operator (MongoDB's `$ne`, `$gt`, and the stores that
//! copy its syntax), proven by a differential.
//!
//! Each string input of a JSON body or a query gets, in turn: its original
//! value (answer A), a wrong value W (B: it must be answered unlike A, so
//! the value matters), `{"$ne": W}` (C; `name[$ne]=W` in a query) and, as
//! the control, the same object under a key that is no operator (D). The
//! proof is C answering with A's data where B did not, while D is answered
//! unlike A: the server read `$ne` as "not equal". C is asked twice. Active
//! profile; no operator that runs code (`$where`, `$function`) is sent; at
//! most [`MAX_INPUTS`] inputs per scan and [`MAX_REQUESTS_PER_INPUT`]
//! requests per input.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext, ScanOperation};
use crate::probes::inject::{
    Input, InputProbe, Place, Probed, body_similarity, planned_inputs, probe_each, report_all, with_operator,
};
use crate::probes::json::leaves;
use crate::probes::spec::defined_at;
use mortar_engine::Exchange;
use mortar_model::{Category, CheckInfo, Observation, Profile, References, Remediation, Severity};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The check.
pub static CHECK: Check = Check {
    info: CheckInfo {
        id: "input-validation.nosql-injection",
        category: Category::InputValidation,
        severity: Severity::High,
        profile: Profile::Active,
        title: "NoSQL injection: an object in place of a value is read as a query operator",
        description: "For string inputs of JSON bodies and queries (at most 60 per scan, 6 requests each): sends \
            the original value, a wrong value, `{\"$ne\": wrong}` (`name[$ne]=wrong` in a query) and, as the \
            control, the same object under a key that is no operator. Reported when the value matters (the wrong \
            value is answered unlike the original), the `$ne` object is answered with the original's data, twice, \
            and the control is not: the database read the object as an operator. No operator that runs code is \
            sent.",
        remediation: Remediation {
            summary: "Give the query only values of the type it expects: parse input into typed structures \
                (a string is a string), refuse objects where a scalar belongs, and build filters in code, never \
                from request JSON as is.",
            actix_web: "Deserialize into a struct with `String` fields (`web::Json<Lookup>`), so an object is a \
                400, and build the filter with `doc! { \"sku\": &lookup.sku }` from those fields; never pass a \
                `serde_json::Value` or `bson::Document` from the request into `find`.",
            axum: "Extract `Json<Lookup>` with `String` fields (an object fails to deserialize) and build \
                `doc! { \"sku\": &lookup.sku }` from them; never convert the request's `Value` into the filter \
                document.",
        },
        references: References { owasp_api: &["API8:2023"], cwe: &["CWE-943"] },
    },
    module: module_path!(),
    run: |ctx, reporter| Box::pin(run(ctx, reporter)),
};

/// Inputs probed per scan.
pub const MAX_INPUTS: usize = 60;
/// Requests per input at most: original, wrong value, operator twice, control.
pub const MAX_REQUESTS_PER_INPUT: usize = 6;
/// Inputs probed at once.
const CONCURRENT_INPUTS: usize = 4;
/// The key of the control object: an object, but no operator.
const NOT_AN_OPERATOR: &str = "mrtrop";

/// What proves the injection: the values and the answers.
struct Injected {
    wrong: String,
    original: Arc<Exchange>,
    wrong_answer: Arc<Exchange>,
    operator: Arc<Exchange>,
    control: Arc<Exchange>,
}

fn ok(exchange: &Exchange) -> bool {
    (200..300).contains(&exchange.response.status)
}

/// Whether two answers are alike: the same status and bodies at least 0.9 alike.
fn alike(a: &Exchange, b: &Exchange) -> bool {
    a.response.status == b.response.status && body_similarity(&a.response.body, &b.response.body) >= 0.9
}

/// Whether `answer` carries the data of `original` that `wrong` lacks: a
/// 2xx whose distinctive values include all of the original's that the wrong
/// value's answer does not have (at least one).
fn carries_original_data(original: &Exchange, wrong: &Exchange, answer: &Exchange) -> bool {
    if !ok(answer) {
        return false;
    }
    let set = |e: &Exchange| {
        let mut out = BTreeSet::new();
        leaves(&e.response.body, &mut out);
        out
    };
    let (o, w, a) = (set(original), set(wrong), set(answer));
    let only_original: BTreeSet<&String> = o.difference(&w).collect();
    !only_original.is_empty() && only_original.iter().all(|v| a.contains(*v))
}

async fn probe(ctx: &ScanContext, op: &ScanOperation, input: Input) -> Probed<Injected> {
    let mut probe = InputProbe::new(ctx, CHECK.info.id, op, &input, MAX_REQUESTS_PER_INPUT);
    let injected = inject(&mut probe).await;
    Probed::of(&probe, injected)
}

async fn inject(probe: &mut InputProbe<'_>) -> Option<Injected> {
    let v = probe.input.original.clone();
    let original = probe.send(&v).await?;
    let wrong = format!("{v}mrtr9q");
    let wrong_answer = probe.send(&wrong).await?;
    if alike(&original, &wrong_answer) || !carries_original_data(&original, &wrong_answer, &original) {
        // The value does not change the answer, or its answer holds no data of its own.
        return None;
    }
    let (ctx, op, input) = (probe.ctx, probe.op, probe.input);
    let operator = probe.send_request(with_operator(ctx, op, input, "$ne", &wrong)?).await?;
    if !carries_original_data(&original, &wrong_answer, &operator) {
        return None;
    }
    let control = probe.send_request(with_operator(ctx, op, input, NOT_AN_OPERATOR, &wrong)?).await?;
    if carries_original_data(&original, &wrong_answer, &control) {
        return None;
    }
    let again = probe.send_request(with_operator(ctx, op, input, "$ne", &wrong)?).await?;
    if !carries_original_data(&original, &wrong_answer, &again) {
        return None;
    }
    Some(Injected { wrong, original, wrong_answer, operator, control })
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter) -> CheckVerdict {
    let (planned, skipped) = planned_inputs(&ctx, CHECK.info.id, MAX_INPUTS, |_, input| {
        !input.numeric && matches!(input.place, Place::Body | Place::Query)
    })
    .await;
    if planned.is_empty() {
        return CheckVerdict::Skipped("no operation has a string input in a JSON body or a query".into());
    }
    let probed = probe_each(&ctx, planned, CONCURRENT_INPUTS, probe).await;
    report_all(&ctx, probed, (skipped, MAX_INPUTS), ("input", "read as a query operator"), |op, input, found| {
        report(&ctx, &reporter, op, input, found)
    })
}

fn report(ctx: &ScanContext, reporter: &Reporter, op: &ScanOperation, input: &Input, found: Injected) {
    let place = if op.source.is_some() { format!(" (defined at {})", defined_at(op)) } else { String::new() };
    let shape = match input.place {
        Place::Query => format!("`{}[$ne]={}`", input.name, found.wrong),
        _ => format!("`{{\"$ne\": \"{}\"}}`", found.wrong),
    };
    let description = format!(
        "{} {}{place}: its {} is read as a query operator: the original value `{}` and a wrong one `{}` are \
         answered differently (HTTP {} and {}), and {shape} in its place is answered with the original's data \
         (HTTP {}), twice, while the same object under a key that is no operator is not. The database took the \
         object as \"not equal to\": anyone who can call the operation matches records without knowing their \
         values (another user's, or every one).",
        op.endpoint.method,
        op.endpoint.path,
        input.describe(),
        input.original,
        found.wrong,
        found.original.response.status,
        found.wrong_answer.response.status,
        found.operator.response.status,
    );
    let evidence = vec![
        ctx.evidence(&found.original, "The original value."),
        ctx.evidence(&found.wrong_answer, "A wrong value: not the original's data."),
        ctx.evidence(&found.operator, "`$ne` the wrong value: the original's data."),
        ctx.evidence(&found.control, "The control object (no operator): not the original's data."),
    ];
    let reproduce = with_operator(ctx, op, input, "$ne", &found.wrong).map(|r| ctx.curl(&r)).unwrap_or_default();
    let mut observation = Observation::confirmed(op.endpoint.clone(), description, evidence, reproduce);
    observation.component = Some(input.name.clone());
    reporter.observe(observation);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_answer_must_carry_what_only_the_original_had() {
        let ex = |status: u16, body: &str| crate::probes::fixture::exchange("http://127.0.0.1/q", status, &[], body);
        let original = ex(200, r#"{"items":[{"sku":"HX-2210","name":"Hex bolt M10"}]}"#);
        let wrong = ex(200, r#"{"items":[]}"#);
        let all = ex(200, r#"{"items":[{"sku":"HX-2210","name":"Hex bolt M10"},{"sku":"WS-0410","name":"Washer"}]}"#);
        assert!(carries_original_data(&original, &wrong, &all));
        assert!(!carries_original_data(&original, &wrong, &wrong));
        assert!(!carries_original_data(
            &original,
            &wrong,
            &ex(500, r#"{"items":[{"sku":"HX-2210","name":"Hex bolt M10"}]}"#)
        ));
        // An original with nothing of its own (both answers alike) proves nothing.
        assert!(!carries_original_data(&wrong, &wrong, &all));
    }
}

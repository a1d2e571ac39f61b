//! The inputs of an operation an injection probe may rewrite (path
//! parameters, query parameters, top-level JSON body properties), the
//! operation's request with one input's value replaced, and how alike two
//! answers are (the differential every injection verdict rests on).
//! Also what the marker probes share (command and template injection): a
//! payload that makes an interpreter compute a product its text does not
//! spell, so that the product in the answer proves the payload ran.

use crate::check::CheckVerdict;
use crate::context::{Reporter, ScanContext, ScanOperation};
use futures::StreamExt;
use mortar_engine::{Exchange, Request};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// One input of an operation, and the value the operation's request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Input {
    /// Where it is.
    pub place: Place,
    /// Its name (the template's parameter name, the query key, the property).
    pub name: String,
    /// For a body property inside objects: the keys of the objects above it.
    pub parents: Vec<String>,
    /// Its value in the operation's request (decoded).
    pub original: String,
    /// Whether the original value is a JSON number (body) or all digits (path, query).
    pub numeric: bool,
    /// The identity to send it as (by name), when not the primary: one the
    /// operation answered in the reachability sweep.
    pub caller: Option<String>,
}

/// Where an input is in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The n-th segment of the path.
    Path(usize),
    /// A query parameter.
    Query,
    /// A top-level property of the JSON body.
    Body,
}

impl Input {
    /// Where the input is, in words: "path parameter `sku`", "body property `body.command`".
    pub(crate) fn describe(&self) -> String {
        let kind = match self.place {
            Place::Path(_) => "path parameter",
            Place::Query => "query parameter",
            Place::Body => "body property",
        };
        let mut path = self.parents.clone();
        path.push(self.name.clone());
        format!("{kind} `{}`", path.join("."))
    }

    /// Whether `other` is the same input (whoever it is sent as).
    pub(crate) fn is_at(&self, other: &Input) -> bool {
        self.place == other.place && self.name == other.name && self.parents == other.parents
    }

    /// A query parameter with a value (for tests of the checks' rules).
    #[cfg(test)]
    pub(crate) fn query(name: &str, original: &str) -> Input {
        let numeric = !original.is_empty() && original.bytes().all(|b| b.is_ascii_digit());
        Input {
            place: Place::Query,
            name: name.into(),
            parents: Vec::new(),
            original: original.into(),
            numeric,
            caller: None,
        }
    }
}

/// How deep inside a JSON body properties are taken as inputs.
const MAX_BODY_DEPTH: usize = 3;

/// The string and number properties of a JSON object, with the keys above
/// them, down to [`MAX_BODY_DEPTH`] objects deep.
fn body_inputs(object: &serde_json::Map<String, Value>, parents: &[String], out: &mut Vec<Input>) {
    for (name, value) in object {
        let (original, numeric) = match value {
            Value::String(s) => (s.clone(), false),
            Value::Number(n) => (n.to_string(), true),
            Value::Object(inner) if parents.len() + 1 < MAX_BODY_DEPTH => {
                let mut deeper = parents.to_vec();
                deeper.push(name.clone());
                body_inputs(inner, &deeper, out);
                continue;
            }
            _ => continue,
        };
        out.push(Input {
            place: Place::Body,
            name: name.clone(),
            parents: parents.to_vec(),
            original,
            numeric,
            caller: None,
        });
    }
}

/// The inputs of `op` with a value: path parameters (by the template), query
/// parameters of its request, and string or number properties of its JSON body.
pub(crate) fn inputs(op: &ScanOperation) -> Vec<Input> {
    let mut out = Vec::new();
    let (path, query) = op.target.split_once('?').unwrap_or((&op.target, ""));
    let template: Vec<&str> = op.endpoint.path.split('/').collect();
    let concrete: Vec<&str> = path.split('/').collect();
    if template.len() == concrete.len() {
        for (i, (t, c)) in template.iter().zip(&concrete).enumerate() {
            if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                let original = super::percent_decode(c);
                let numeric = !original.is_empty() && original.bytes().all(|b| b.is_ascii_digit());
                out.push(Input {
                    place: Place::Path(i),
                    name: name.to_string(),
                    parents: Vec::new(),
                    original,
                    numeric,
                    caller: None,
                });
            }
        }
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let original = super::percent_decode(v);
        let numeric = !original.is_empty() && original.bytes().all(|b| b.is_ascii_digit());
        out.push(Input {
            place: Place::Query,
            name: super::percent_decode(k),
            parents: Vec::new(),
            original,
            numeric,
            caller: None,
        });
    }
    if let Some(Ok(Value::Object(body))) = op.body.as_ref().map(|b| serde_json::from_slice::<Value>(b)) {
        body_inputs(&body, &[], &mut out);
    }
    out
}

/// The operation's request as the input's caller (the primary identity
/// unless the plan chose another), with `input` set to `value` (encoded for
/// its place; a numeric body property becomes a string).
pub(crate) fn with_value(ctx: &ScanContext, op: &ScanOperation, input: &Input, value: &str) -> Request {
    let caller = input
        .caller
        .as_ref()
        .and_then(|name| ctx.identities.iter().find(|i| &i.name == name).cloned())
        .or_else(|| ctx.primary_identity());
    // Built from `op` itself, not the scan's copy: probes may pass one with other inputs changed.
    let mut request = Request::new(&op.endpoint.method, &ctx.origin, op.target.clone()).identity(caller);
    request.headers = op.headers.clone();
    if let Some(body) = &op.body {
        request.body = body.clone();
    }
    set_input(&mut request.target, &mut request.body, input, value);
    request
}

/// `op` with `input` set to `value`, for probes that change several inputs
/// before sending (the body only when the operation has one).
pub(crate) fn with_input(op: &ScanOperation, input: &Input, value: &str) -> ScanOperation {
    let mut changed = op.clone();
    let mut body = op.body.clone().unwrap_or_default();
    set_input(&mut changed.target, &mut body, input, value);
    if changed.body.is_some() {
        changed.body = Some(body);
    }
    changed
}

/// Sets `input` to `value` in a request's target or JSON body.
fn set_input(target: &mut String, body: &mut Vec<u8>, input: &Input, value: &str) {
    match input.place {
        Place::Path(index) => {
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p.to_string(), Some(q.to_string())),
                None => (target.clone(), None),
            };
            let mut segments: Vec<String> = path.split('/').map(str::to_string).collect();
            if let Some(segment) = segments.get_mut(index) {
                *segment = super::percent_encode(value);
            }
            *target = segments.join("/");
            if let Some(q) = query {
                *target = format!("{target}?{q}");
            }
        }
        Place::Query => {
            let encoded = super::percent_encode(value);
            *target = rewrite_query_pair(target, &input.name, |key, _| format!("{key}={encoded}"));
        }
        Place::Body => {
            if let Ok(mut json) = serde_json::from_slice::<Value>(body) {
                let mut object = json.as_object_mut();
                for key in &input.parents {
                    object = object.and_then(|o| o.get_mut(key)).and_then(Value::as_object_mut);
                }
                if let Some(object) = object {
                    object.insert(input.name.clone(), Value::from(value));
                    *body = serde_json::to_vec(&json).unwrap_or_default();
                }
            }
        }
    }
}

/// `target` with the query pair named `name` rewritten by `rewrite(key, value)`
/// (both as sent, percent-encoded).
fn rewrite_query_pair(target: &str, name: &str, rewrite: impl Fn(&str, &str) -> String) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (key, v) = p.split_once('=').unwrap_or((p, ""));
            if super::percent_decode(key) == name { rewrite(key, v) } else { p.to_string() }
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// The inputs of the scan's operations that `keep` accepts, by operation
/// index, skipping DELETE and the operations held for the last phase; at most
/// `max` of them, and how many more there were. The secret of a body that
/// also names an account (a sign-in form) is not an input: a payload there is
/// a failed sign-in of a real account. Within the bound, every
/// operation's first input comes before any operation's second, and safe
/// operations' before the others': a large API is probed across its surface,
/// not down its first operations. Each input is sent as the first identity
/// the operation answered with a 2xx in the reachability sweep (an admin's
/// operation as the admin), else as the primary identity.
pub(crate) async fn planned_inputs(
    ctx: &ScanContext,
    check: &'static str,
    max: usize,
    keep: impl Fn(&ScanOperation, &Input) -> bool,
) -> (Vec<(usize, Input)>, usize) {
    let held: Vec<_> = ctx.hold.held().iter().map(|h| h.endpoint.clone()).collect();
    let mut planned: Vec<(usize, usize, Input)> = Vec::new();
    for (i, op) in ctx.operations.iter().enumerate() {
        if op.endpoint.method == "DELETE" || held.contains(&op.endpoint) {
            continue;
        }
        let all = inputs(op);
        let kept = all.iter().filter(|input| !is_account_secret(&all, input) && keep(op, input)).cloned();
        planned.extend(kept.enumerate().map(|(rank, input)| (i, rank, input)));
    }
    planned.sort_by_key(|(i, rank, _)| (*rank, !ctx.operations[*i].is_safe()));
    let skipped = planned.len().saturating_sub(max);
    planned.truncate(max);
    if ctx.identities.len() > 1 && !planned.is_empty() {
        let sweep = ctx.reachability(check).await;
        for (i, _, input) in &mut planned {
            let op = &ctx.operations[*i];
            input.caller = sweep
                .get(&op.endpoint)
                .and_then(|reach| {
                    ctx.identities.iter().map(|identity| &identity.name).find(|name| {
                        reach.iter().any(|r| {
                            &&r.identity == name
                                && r.probe == op.endpoint.method
                                && r.result.as_ref().is_ok_and(|e| (200..300).contains(&e.response.status))
                        })
                    })
                })
                .cloned();
        }
    }
    (planned.into_iter().map(|(i, _, input)| (i, input)).collect(), skipped)
}

/// Whether `input` is the secret of a body that also names an account (a
/// sign-in form): a wrong secret beside a real account's name is a failed
/// sign-in of that account, which counts towards its lockout.
fn is_account_secret(all: &[Input], input: &Input) -> bool {
    input.place == Place::Body
        && super::sign_in::secret_field(&input.name)
        && all.iter().any(|o| o.place == Place::Body && !o.is_at(input) && super::sign_in::user_field(&o.name))
}

/// Runs `probe` on each planned input, `concurrent` at a time, and returns
/// the results with the operation's index.
pub(crate) async fn probe_each<R>(
    ctx: &ScanContext,
    planned: Vec<(usize, Input)>,
    concurrent: usize,
    probe: impl AsyncFn(&ScanContext, &ScanOperation, Input) -> R,
) -> Vec<(usize, R)> {
    let probe = &probe;
    futures::stream::iter(planned)
        .map(|(i, input)| async move { (i, probe(ctx, &ctx.operations[i], input).await) })
        .buffer_unordered(concurrent)
        .collect()
        .await
}

/// One input's probe: sends the operation with the input rewritten, as the
/// primary identity, never more than `max` times.
pub(crate) struct InputProbe<'a> {
    /// The scan.
    pub ctx: &'a ScanContext,
    /// The check sending.
    pub check: &'static str,
    /// The operation, as the probe means to send it.
    pub op: &'a ScanOperation,
    /// The input rewritten.
    pub input: &'a Input,
    /// Requests sent so far.
    pub requests: usize,
    /// Requests allowed.
    pub max: usize,
    /// The target answered 429: the probe stopped there.
    pub rate_limited: bool,
}

impl<'a> InputProbe<'a> {
    /// A probe of `input` of `op` for `check`, allowed `max` requests.
    pub(crate) fn new(
        ctx: &'a ScanContext,
        check: &'static str,
        op: &'a ScanOperation,
        input: &'a Input,
        max: usize,
    ) -> InputProbe<'a> {
        InputProbe { ctx, check, op, input, requests: 0, max, rate_limited: false }
    }

    /// The request with the input set to `value`.
    pub(crate) fn request(&self, value: &str) -> Request {
        with_value(self.ctx, self.op, self.input, value)
    }

    /// Sends the request with the input set to `value`; `None` once the
    /// bound is reached, when the request fails, and from the first 429 on
    /// (a limited answer proves nothing, and waiting out the limit for every
    /// payload would cost the scan its time).
    pub(crate) async fn send(&mut self, value: &str) -> Option<Arc<Exchange>> {
        let request = self.request(value);
        self.send_request(request).await
    }

    /// Sends a request the probe built itself (another shape of the input),
    /// under the same bound and the same stop at a 429.
    pub(crate) async fn send_request(&mut self, mut request: Request) -> Option<Arc<Exchange>> {
        if self.requests >= self.max || self.rate_limited {
            return None;
        }
        self.requests += 1;
        request.options.no_retry = true;
        let exchange = self.ctx.send(self.check, Some(&self.op.endpoint), request).await.ok()?;
        if exchange.response.status == 429 {
            self.rate_limited = true;
            return None;
        }
        Some(Arc::new(exchange))
    }
}

/// One input's probe: the input, its requests, whether a 429 stopped it,
/// and what it proved, if anything.
pub(crate) struct Probed<T> {
    /// The input.
    pub input: Input,
    /// Requests sent.
    pub requests: usize,
    /// A 429 stopped the probe.
    pub rate_limited: bool,
    /// The proof.
    pub proof: Option<T>,
}

impl<T> Probed<T> {
    /// The result of `probe` (which sent for `input`) and its proof.
    pub(crate) fn of(probe: &InputProbe<'_>, proof: Option<T>) -> Probed<T> {
        Probed { input: probe.input.clone(), requests: probe.requests, rate_limited: probe.rate_limited, proof }
    }
}

/// Reports every proof among `probed` with `report` and returns the verdict
/// (`noun` and `found` as in [`Tally::summary`]).
pub(crate) fn report_all<T>(
    ctx: &ScanContext,
    probed: Vec<(usize, Probed<T>)>,
    (skipped, max): (usize, usize),
    (noun, found): (&str, &str),
    mut report: impl FnMut(&ScanOperation, &Input, T),
) -> CheckVerdict {
    let mut tally = Tally {
        inputs: probed.len(),
        requests: probed.iter().map(|(_, p)| p.requests).sum(),
        found: 0,
        rate_limited: probed.iter().filter(|(_, p)| p.rate_limited).count(),
        skipped,
        max,
    };
    for (i, p) in probed {
        let Some(proof) = p.proof else { continue };
        tally.found += 1;
        report(&ctx.operations[i], &p.input, proof);
    }
    CheckVerdict::Ran(tally.summary(noun, found))
}

/// What an injection check ran, for its verdict: inputs probed, requests,
/// how many were found (`found` says what they were), those stopped by a
/// rate limit, and those left beyond the budget.
pub(crate) struct Tally {
    /// Inputs probed.
    pub inputs: usize,
    /// Requests sent.
    pub requests: usize,
    /// Inputs found vulnerable.
    pub found: usize,
    /// Inputs whose probe a 429 stopped.
    pub rate_limited: usize,
    /// Inputs beyond the budget.
    pub skipped: usize,
    /// The budget.
    pub max: usize,
}

impl Tally {
    /// "12 input(s) probed with 80 request(s), 1 run by a shell; ..."
    pub(crate) fn summary(&self, noun: &str, found: &str) -> String {
        let mut out =
            format!("{} {noun}(s) probed with {} request(s), {} {found}", self.inputs, self.requests, self.found);
        if self.rate_limited > 0 {
            out.push_str(&format!("; {} stopped by a rate limit (429)", self.rate_limited));
        }
        if self.skipped > 0 {
            out.push_str(&format!("; {} input(s) beyond the budget of {} not probed", self.skipped, self.max));
        }
        out
    }
}

/// A payload form of a marker probe: builds the input's value from the
/// original and two factors, so that an interpreter that runs it writes
/// [`marker`] of their product.
pub(crate) struct MarkerForm {
    /// What the form is, in words ("`;` separator").
    pub name: &'static str,
    /// The value sent: from the original value and the factors.
    pub build: fn(&str, u64, u64) -> String,
}

/// The text an evaluated payload leaves in the answer: the product framed by
/// letters, which no payload spells (each carries the factors, not the product).
pub(crate) fn marker(product: u64) -> String {
    format!("mrtr{product}z")
}

/// What proves a marker probe: the form, the value sent, the answer that
/// carried the product, the second answer (other factors, their product),
/// and the answer to the original value (without it).
pub(crate) struct Evaluated {
    /// The form that ran.
    pub form: &'static str,
    /// The value whose answer carried the product.
    pub value: String,
    /// The marker that answer carried.
    pub seen: String,
    /// The marker the second answer carried.
    pub seen_again: String,
    /// That answer.
    pub first: Arc<Exchange>,
    /// The answer to the second value, with other factors.
    pub again: Arc<Exchange>,
    /// The answer to the original value.
    pub original: Arc<Exchange>,
}

/// Whether `exchange`'s body holds `text`.
pub(crate) fn answer_holds(exchange: &Exchange, text: &str) -> bool {
    String::from_utf8_lossy(&exchange.response.body).contains(text)
}

/// Sends the original value, then each form in turn: the first whose answer
/// carries the marker of its product (absent from the original answer), and
/// carries the other product's marker when sent again with other factors.
/// Requests: the original, one per form, one to confirm.
pub(crate) async fn evaluated_by(probe: &mut InputProbe<'_>, forms: &[MarkerForm]) -> Option<Evaluated> {
    let v = probe.input.original.clone();
    let original = probe.send(&v).await?;
    for (i, form) in forms.iter().enumerate() {
        let (a, b) = (4127 + 31 * i as u64, 7);
        let value = (form.build)(&v, a, b);
        let Some(first) = probe.send(&value).await else { continue };
        let seen = marker(a * b);
        if !answer_holds(&first, &seen) || answer_holds(&original, &seen) {
            continue;
        }
        // Other factors: a product that appears by coincidence does not follow them.
        let (c, d) = (a + 1000, 13);
        let again = probe.send(&(form.build)(&v, c, d)).await?;
        let seen_again = marker(c * d);
        if answer_holds(&again, &seen_again) {
            return Some(Evaluated { form: form.name, value, seen, seen_again, first, again, original });
        }
    }
    None
}

/// What a marker check is: its id, its payload forms, its bounds, and the
/// words of its verdict and findings.
pub(crate) struct MarkerCheck {
    /// The check's id.
    pub check: &'static str,
    /// The payload forms, tried in order.
    pub forms: &'static [MarkerForm],
    /// Inputs probed per scan.
    pub max_inputs: usize,
    /// Requests per input.
    pub max_requests: usize,
    /// What a found input is, for the verdict ("run by a shell").
    pub found: &'static str,
    /// What evaluated the payload, for the finding ("run by a shell").
    pub evaluated_as: &'static str,
    /// Who wrote the product ("the shell's arithmetic").
    pub writer: &'static str,
    /// What the flaw lets anyone do, the finding's last sentence.
    pub impact: &'static str,
}

/// Inputs a marker check probes at once.
const MARKER_CONCURRENCY: usize = 4;

/// Runs a marker check: every planned input through [`evaluated_by`], each
/// one found reported with the three answers as evidence.
pub(crate) async fn run_marker_check(ctx: &ScanContext, reporter: &Reporter, spec: &MarkerCheck) -> CheckVerdict {
    let (planned, skipped) = planned_inputs(ctx, spec.check, spec.max_inputs, |_, _| true).await;
    if planned.is_empty() {
        return CheckVerdict::Skipped("no operation has a path, query or JSON body input to probe".into());
    }
    let probed: Vec<(usize, Probed<Evaluated>)> = futures::stream::iter(planned)
        .map(|(i, input)| async move { (i, marker_probe(ctx, spec, &ctx.operations[i], input).await) })
        .buffer_unordered(MARKER_CONCURRENCY)
        .collect()
        .await;
    report_all(ctx, probed, (skipped, spec.max_inputs), ("input", spec.found), |op, input, found| {
        report_marker(ctx, reporter, spec, op, input, found)
    })
}

async fn marker_probe(ctx: &ScanContext, spec: &MarkerCheck, op: &ScanOperation, input: Input) -> Probed<Evaluated> {
    let mut probe = InputProbe::new(ctx, spec.check, op, &input, spec.max_requests);
    let evaluated = evaluated_by(&mut probe, spec.forms).await;
    Probed::of(&probe, evaluated)
}

fn report_marker(
    ctx: &ScanContext,
    reporter: &Reporter,
    spec: &MarkerCheck,
    op: &ScanOperation,
    input: &Input,
    found: Evaluated,
) {
    let place =
        if op.source.is_some() { format!(" (defined at {})", super::spec::defined_at(op)) } else { String::new() };
    let (first_marker, again_marker) = (&found.seen, &found.seen_again);
    let description = format!(
        "{} {}{place}: its {} is {}: with `{}` appended ({}), the answer carries `{first_marker}`, the result of \
         {}, which the payload does not spell and the original answer does not carry; other factors gave \
         `{again_marker}`. {}",
        op.endpoint.method,
        op.endpoint.path,
        input.describe(),
        spec.evaluated_as,
        found.value.strip_prefix(input.original.as_str()).unwrap_or(&found.value).escape_debug(),
        found.form,
        spec.writer,
        spec.impact,
    );
    let evidence = vec![
        ctx.evidence(&found.first, format!("The payload's product, `{first_marker}`, in the answer.")),
        ctx.evidence(&found.again, format!("Other factors, their product `{again_marker}`.")),
        ctx.evidence(&found.original, "The original value: no marker."),
    ];
    let reproduce = ctx.curl(&with_value(ctx, op, input, &found.value));
    let mut observation = mortar_model::Observation::confirmed(op.endpoint.clone(), description, evidence, reproduce);
    observation.component = Some(input.name.clone());
    reporter.observe(observation);
}

/// The operation's request with `input` given a JSON object instead of a
/// string: `{"OP": value}` in a body, `name[OP]=value` in a query (the
/// bracket syntax that qs, PHP and Rack parse into an object). `None` for a
/// path parameter, which cannot carry one.
pub(crate) fn with_operator(
    ctx: &ScanContext,
    op: &ScanOperation,
    input: &Input,
    operator: &str,
    value: &str,
) -> Option<Request> {
    let mut request = with_value(ctx, op, input, value);
    match input.place {
        Place::Path(_) => return None,
        Place::Query => {
            let operator = super::percent_encode(operator);
            request.target =
                rewrite_query_pair(&request.target, &input.name, |key, v| format!("{key}%5B{operator}%5D={v}"));
        }
        Place::Body => {
            let mut body: Value = serde_json::from_slice(&request.body).ok()?;
            let mut object = body.as_object_mut();
            for key in &input.parents {
                object = object.and_then(|o| o.get_mut(key)).and_then(Value::as_object_mut);
            }
            let mut operand = serde_json::Map::new();
            operand.insert(operator.to_string(), Value::from(value));
            object?.insert(input.name.clone(), Value::Object(operand));
            request.body = serde_json::to_vec(&body).unwrap_or_default();
        }
    }
    Some(request)
}

/// How alike two answers' bodies are, 0 to 1: the Dice coefficient of their
/// word multisets (letters and digits, case kept), so that a reordered list
/// or a changed timestamp moves it little and a different document a lot.
pub(crate) fn body_similarity(a: &[u8], b: &[u8]) -> f64 {
    fn words(text: &[u8]) -> HashMap<&[u8], usize> {
        let mut counts = HashMap::new();
        for w in text.split(|b| !b.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).take(20_000) {
            *counts.entry(w).or_insert(0) += 1;
        }
        counts
    }
    let (wa, wb) = (words(a), words(b));
    let (na, nb): (usize, usize) = (wa.values().sum(), wb.values().sum());
    if na + nb == 0 {
        return if a == b { 1.0 } else { 0.0 };
    }
    let common: usize = wa.iter().map(|(w, n)| (*n).min(wb.get(w).copied().unwrap_or(0))).sum();
    2.0 * common as f64 / (na + nb) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_come_from_the_template_the_query_and_the_body() {
        let mut op = ScanOperation::bare("POST", "/shops/{shop}/items/{id}");
        op.target = "/shops/north%20side/items/42?sort=name&limit=5".into();
        op.body = Some(br#"{"name": "bolt", "qty": 3, "tags": ["a"], "spec": {"grade": "8.8"}}"#.to_vec());
        let found: Vec<(String, String, bool)> =
            inputs(&op).into_iter().map(|i| (i.describe(), i.original, i.numeric)).collect();
        assert_eq!(
            found,
            vec![
                ("path parameter `shop`".into(), "north side".into(), false),
                ("path parameter `id`".into(), "42".into(), true),
                ("query parameter `sort`".into(), "name".into(), false),
                ("query parameter `limit`".into(), "5".into(), true),
                ("body property `name`".into(), "bolt".into(), false),
                ("body property `qty`".into(), "3".into(), true),
                ("body property `spec.grade`".into(), "8.8".into(), false),
            ]
        );
    }

    #[test]
    fn one_query_pair_is_rewritten_and_the_others_kept() {
        let target = "/loans?card=C-1&branch=harbour%20side";
        assert_eq!(
            rewrite_query_pair(target, "branch", |k, v| format!("{k}%5B%24ne%5D={v}")),
            "/loans?card=C-1&branch%5B%24ne%5D=harbour%20side"
        );
        assert_eq!(rewrite_query_pair(target, "card", |k, _| format!("{k}=x")), "/loans?card=x&branch=harbour%20side");
    }

    #[test]
    fn the_secret_of_a_sign_in_form_is_not_probed_and_other_secrets_are() {
        let mut op = ScanOperation::bare("POST", "/auth/sessions");
        op.body = Some(br#"{"email": "ana@example.com", "password": "wrong", "remember": "yes"}"#.to_vec());
        let all = inputs(&op);
        let probed: Vec<&str> = all.iter().filter(|i| !is_account_secret(&all, i)).map(|i| i.name.as_str()).collect();
        assert_eq!(probed, vec!["email", "remember"]);
        op.body = Some(br#"{"label": "ci", "token": "abc"}"#.to_vec());
        let all = inputs(&op);
        assert!(all.iter().all(|i| !is_account_secret(&all, i)), "no account named beside it");
    }

    #[test]
    fn similarity_tolerates_small_changes_and_sees_other_documents() {
        let a = br#"{"items":[{"sku":"A-1","name":"bolt"},{"sku":"A-2","name":"nut"}],"at":"2026-12-07T08:00:01Z"}"#;
        let b = br#"{"items":[{"sku":"A-1","name":"bolt"},{"sku":"A-2","name":"nut"}],"at":"2026-12-07T08:00:02Z"}"#;
        let c = br#"{"error":"not found"}"#;
        assert!(body_similarity(a, b) > 0.9);
        assert!(body_similarity(a, c) < 0.2);
        assert_eq!(body_similarity(b"", b""), 1.0);
    }
}

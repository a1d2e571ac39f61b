//! The race machinery of `race-condition.limit-overrun` and
//! `race-condition.toctou`: a limited
//! action (or a check-then-act pair such as cancel and ship) raced with one
//! synchronized burst, against a sequential control of the same size.
//!
//! Candidates come from race plans in mortar.toml (`[[race]]`): setup
//! requests that make a fresh resource, the raced request, which statuses
//! succeed and how many successes the rules allow. Each round makes two fresh
//! resources: one gets the requests one after another (the control), the
//! other gets them as one burst. The overrun is confirmed when the burst gets
//! more successes than the control and than the limit: the control shows
//! what the API allows when requests do not overlap, so the difference is
//! the race. Nothing seen is "not observed", never "safe".

use crate::check::CheckVerdict;
use crate::context::reproduce::shell_quote;
use crate::context::{RacePlan, RaceStep, Reporter, ScanContext};
use mortar_engine::{BurstMode, BurstOptions, BurstReport, Exchange, Request, Response};
use mortar_model::{Confidence, Endpoint, Evidence, Identity, Observation};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The limit-overrun check: plans with one raced request, and candidates from the description.
const LIMIT_ID: &str = "race-condition.limit-overrun";
/// The check-then-act check: plans whose burst lists several requests.
const TOCTOU_ID: &str = "race-condition.toctou";

/// How long the server may take to answer a whole burst.
const BURST_TIMEOUT: Duration = Duration::from_secs(30);

/// Values captured by the setup steps.
type Vars = BTreeMap<String, String>;

fn fill(template: &str, vars: &Vars) -> String {
    let mut out = template.to_string();
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

fn step_request(ctx: &ScanContext, step: &RaceStep, vars: &Vars, identity: &Option<Arc<Identity>>) -> Request {
    let mut request = Request::new(step.method.clone(), &ctx.origin, fill(&step.path, vars)).identity(identity.clone());
    for (name, value) in &step.headers {
        request = request.header(name.clone(), fill(value, vars).into_bytes());
    }
    if let Some(body) = &step.body {
        let body = fill(body, vars);
        if body.trim_start().starts_with(['{', '['])
            && !step.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("Content-Type", "application/json");
        }
        request = request.body(body.into_bytes());
    }
    request
}

/// Runs the setup steps: the captured values, or why they failed.
async fn setup(
    ctx: &ScanContext,
    id: &'static str,
    plan: &RacePlan,
    identity: &Option<Arc<Identity>>,
) -> Result<Vars, String> {
    let mut vars = Vars::new();
    for (i, step) in plan.setup.iter().enumerate() {
        let request = step_request(ctx, step, &vars, identity);
        let ex = ctx.send(id, None, request).await.map_err(|e| format!("setup step {}: {}", i + 1, e.chain()))?;
        if !(200..300).contains(&ex.response.status) {
            return Err(format!("setup step {} answered HTTP {}", i + 1, ex.response.status));
        }
        let json: serde_json::Value = serde_json::from_slice(&ex.response.body).unwrap_or(serde_json::Value::Null);
        // A name may be listed with several pointers: the first that resolves wins.
        for (name, pointer) in &step.capture {
            if vars.contains_key(name) {
                continue;
            }
            match json.pointer(pointer) {
                Some(serde_json::Value::String(s)) => vars.insert(name.clone(), s.clone()),
                Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                    vars.insert(name.clone(), v.to_string())
                }
                _ => None,
            };
        }
        if let Some((name, _)) = step.capture.iter().find(|(name, _)| !vars.contains_key(name)) {
            let tried: Vec<&str> = step.capture.iter().filter(|(n, _)| n == name).map(|(_, p)| p.as_str()).collect();
            return Err(format!("setup step {}: nothing at {} to capture as `{name}`", i + 1, tried.join(" or ")));
        }
    }
    Ok(vars)
}

/// Words in an action's last path segment that suggest a limited action.
const LIMITED_ACTIONS: &[&str] = &[
    "redeem", "reserve", "claim", "apply", "consume", "withdraw", "transfer", "refund", "vote", "invite", "checkout",
    "purchase", "activate", "use",
];

/// Race plans from the API description: `POST /things/{id}/<limited action>`
/// where `POST /things` creates one. The fresh resource comes from the create
/// operation (its synthesized body), its id from the answer (`/id`, or the
/// path parameter's name); the limit is what the sequential control allows,
/// so an action that may succeed several times is not mistaken for a race.
fn spec_candidates(ctx: &ScanContext) -> Vec<RacePlan> {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let mut plans = Vec::new();
    for op in ctx.operations.iter().filter(|o| o.endpoint.method == "POST") {
        let segments: Vec<&str> = op.endpoint.path.split('/').collect();
        let [.., collection_end, param, action] = segments.as_slice() else { continue };
        let _ = collection_end;
        let action = action.to_ascii_lowercase();
        let Some(name) = param.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else { continue };
        if !LIMITED_ACTIONS.iter().any(|w| action.split(['-', '_']).any(|part| part == *w)) {
            continue;
        }
        let collection = segments[..segments.len() - 2].join("/");
        let Some(create) = ctx
            .operations
            .iter()
            .find(|o| o.endpoint.method == "POST" && o.endpoint.path.trim_end_matches('/') == collection)
        else {
            continue;
        };
        let (concrete, query) = match op.target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (op.target.clone(), None),
        };
        let mut parts: Vec<String> = concrete.split('/').map(String::from).collect();
        if parts.len() != segments.len() {
            continue;
        }
        let at = parts.len() - 2;
        parts[at] = format!("{{{name}}}");
        let mut path = parts.join("/");
        if let Some(q) = query {
            path = format!("{path}?{q}");
        }
        let headers = |o: &crate::context::ScanOperation| -> Vec<(String, String)> {
            o.headers.iter().map(|(n, v)| (n.clone(), text(v))).collect()
        };
        plans.push(RacePlan {
            name: format!("{} {} (from the API description)", op.endpoint.method, op.endpoint.path),
            setup: vec![RaceStep {
                method: "POST".into(),
                path: create.target.clone(),
                body: create.body.as_deref().map(text),
                headers: headers(create),
                capture: vec![(name.to_string(), "/id".into()), (name.to_string(), format!("/{name}"))],
            }],
            burst: vec![RaceStep {
                method: "POST".into(),
                path,
                body: op.body.as_deref().map(text),
                headers: headers(op),
                capture: Vec::new(),
            }],
            success: vec![(200, 299)],
            limit: 0,
            rounds: ctx.settings.race_rounds.max(1),
            identity: None,
            fresh_client_cert: None,
            state: None,
            unique: None,
        });
    }
    plans
}

/// `mortar race` with the plan's burst: the same requests, count and limit
/// (`{name}` stands for what the setup captured).
fn race_command(
    ctx: &ScanContext,
    plan: &RacePlan,
    identity: &Option<Arc<Identity>>,
    n: usize,
    mode: BurstMode,
) -> String {
    let examples: Vec<Request> = plan.burst.iter().map(|s| step_request(ctx, s, &Vars::new(), identity)).collect();
    let body =
        |r: &Request| -> Option<String> { (!r.body.is_empty()).then(|| String::from_utf8_lossy(&r.body).into_owned()) };
    let mut words = vec!["mortar race".to_string()];
    for r in &examples {
        let mut curl = format!("curl -X {} {}", r.method, shell_quote(&r.url()));
        for (name, value) in &r.headers {
            curl.push_str(&format!(" -H {}", shell_quote(&format!("{name}: {}", String::from_utf8_lossy(value)))));
        }
        if let Some(b) = body(r) {
            curl.push_str(&format!(" --data-binary {}", shell_quote(&b)));
        }
        words.extend(["--curl".into(), shell_quote(&curl)]);
    }
    words.extend(["-n".into(), n.to_string(), "--limit".into(), plan.limit.to_string()]);
    // The round shown won this way; `mortar race` chooses single-packet by itself.
    if mode == BurstMode::LastByte {
        words.extend(["--engine".into(), "last-byte".into()]);
    }
    if let Some(ca) = &ctx.reproduce.ca_cert {
        words.extend(["--ca-cert".into(), shell_quote(ca)]);
    }
    if plan.fresh_client_cert.is_some() {
        words.extend(["--identity-cert".into(), "new=new-client.pem,new-client.key".into()]);
    }
    words.join(" ")
}

/// `METHOD /path`, with the body when another burst request has the same line.
fn step_label(plan: &RacePlan, step: &RaceStep) -> String {
    let line = format!("{} {}", step.method, step.path);
    let twins = plan.burst.iter().filter(|s| s.method == step.method && s.path == step.path).count();
    match &step.body {
        Some(body) if twins > 1 => format!("{line} {}", body.chars().take(60).collect::<String>()),
        _ => line,
    }
}

/// One burst response as an exchange, for evidence.
fn burst_exchange(report: &BurstReport, index: usize) -> Option<Exchange> {
    let r = report.responses.iter().find(|r| r.index == index)?;
    let sent = report.requests.get(index)?.clone();
    Some(Exchange {
        request: sent,
        response: Response {
            status: r.status?,
            version: report.protocol,
            headers: r.headers.clone(),
            body: r.body.clone(),
            body_truncated: r.body_truncated,
            elapsed: Duration::from_nanos(r.received_ns.unwrap_or(r.sent_ns).saturating_sub(r.sent_ns)),
            tls: report.tls.clone(),
            redirects: Vec::new(),
            blocked_redirect: None,
        },
    })
}

/// One round's outcome.
struct Round {
    control: usize,
    burst: usize,
    /// Distinct plan requests that succeeded at least once in the control.
    control_kinds: usize,
    /// Successes per plan request (by position in the plan) in the burst.
    burst_per_request: Vec<usize>,
    report: BurstReport,
    control_refused: Option<Exchange>,
    /// How far the state read moved under the control and under the burst,
    /// with the read after each.
    control_state: Option<(f64, Exchange)>,
    burst_state: Option<(f64, Exchange)>,
    /// A value at the plan's `unique` pointer that several burst successes carried, and their indices.
    duplicate: Option<(String, Vec<usize>)>,
}

/// What proved a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proof {
    /// More successes than the control and the limit (between operations:
    /// the control let only one operation through).
    Successes,
    /// The state moved further than under the control.
    State,
    /// Two successes carried one unique value.
    Duplicate,
}

impl Round {
    /// The proofs this round holds for check `id`.
    fn proofs(&self, id: &str, limit: usize) -> Vec<Proof> {
        let overrun = self.burst > self.control && self.burst > limit;
        // Between operations, the control must show them exclusive: one
        // operation through. The burst then breaks the invariant whether
        // both operations passed or one passed several times.
        let by_count = if id == TOCTOU_ID { overrun && self.control_kinds <= 1 } else { overrun };
        let by_state = match (&self.control_state, &self.burst_state) {
            (Some((control, _)), Some((burst, _))) => burst.abs() > control.abs() + 1e-9,
            _ => false,
        };
        [(by_count, Proof::Successes), (by_state, Proof::State), (self.duplicate.is_some(), Proof::Duplicate)]
            .into_iter()
            .filter_map(|(held, proof)| held.then_some(proof))
            .collect()
    }
}

/// The identity for one fresh resource: a never-seen certificate when the
/// plan issues them, otherwise the plan's identity.
fn resource_identity(plan: &RacePlan, base: &Option<Arc<Identity>>) -> Result<Option<Arc<Identity>>, String> {
    match &plan.fresh_client_cert {
        Some(issuer) => issuer.fresh_identity(base.as_deref()).map(|i| Some(Arc::new(i))).map_err(|e| e.to_string()),
        None => Ok(base.clone()),
    }
}

/// Reads the plan's state number, when it has a state read.
async fn read_state(
    ctx: &ScanContext,
    id: &'static str,
    plan: &RacePlan,
    vars: &Vars,
    identity: &Option<Arc<Identity>>,
) -> Result<Option<(f64, Exchange)>, String> {
    let Some(state) = &plan.state else { return Ok(None) };
    let request = step_request(ctx, &state.read, vars, identity);
    let ex = ctx.send(id, None, request).await.map_err(|e| format!("state read: {}", e.chain()))?;
    if !(200..300).contains(&ex.response.status) {
        return Err(format!("state read answered HTTP {}", ex.response.status));
    }
    let json: serde_json::Value = serde_json::from_slice(&ex.response.body).unwrap_or(serde_json::Value::Null);
    let value = match json.pointer(&state.pointer) {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match value {
        Some(v) => Ok(Some((v, ex))),
        None => Err(format!("state read: no number at {}", state.pointer)),
    }
}

/// The change between two state reads, with the later read.
fn change(before: Option<(f64, Exchange)>, after: Option<(f64, Exchange)>) -> Option<(f64, Exchange)> {
    let (before, _) = before?;
    let (after, ex) = after?;
    Some((after - before, ex))
}

/// A value at `pointer` that more than one success carried.
fn duplicate(report: &BurstReport, plan: &RacePlan, pointer: &str) -> Option<(String, Vec<usize>)> {
    let mut seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in report.responses.iter().filter(|r| r.status.is_some_and(|s| plan.is_success(s))) {
        let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or(serde_json::Value::Null);
        let value = match json.pointer(pointer) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
            _ => continue,
        };
        seen.entry(value).or_default().push(r.index);
    }
    seen.into_iter().find(|(_, at)| at.len() > 1)
}

/// The synchronization of round `r` (from 1): the automatic choice (HTTP/2
/// single-packet where the server offers h2), and last-byte over one
/// connection per request in every second round. Servers differ in which
/// wins: hyper runs one connection's streams one after another on one thread
/// and is raced far better across connections (BENCHMARKS.md), actix-web
/// interleaves them and is raced best within one.
fn round_mode(r: usize) -> BurstMode {
    if r.is_multiple_of(2) { BurstMode::LastByte } else { BurstMode::Auto }
}

async fn round(
    ctx: &ScanContext,
    id: &'static str,
    plan: &RacePlan,
    base_identity: &Option<Arc<Identity>>,
    n: usize,
    mode: BurstMode,
) -> Result<Round, String> {
    let kinds = plan.burst.len();
    // The control: a fresh resource, the same requests one at a time.
    let identity = resource_identity(plan, base_identity)?;
    let vars = setup(ctx, id, plan, &identity).await?;
    let before = read_state(ctx, id, plan, &vars, &identity).await?;
    let mut control = 0;
    let mut control_seen = vec![false; kinds];
    let mut control_refused = None;
    for i in 0..n {
        let request = step_request(ctx, &plan.burst[i % kinds], &vars, &identity);
        let ex = ctx.send(id, None, request).await.map_err(|e| format!("control: {}", e.chain()))?;
        // A throttled control is not comparable with a burst: no verdict from this round.
        if ex.response.status == 429 {
            return Err("the control was rate-limited (HTTP 429): round not compared".into());
        }
        if plan.is_success(ex.response.status) {
            control += 1;
            control_seen[i % kinds] = true;
        } else if control_refused.is_none() {
            control_refused = Some(ex);
        }
    }
    let control_state = change(before, read_state(ctx, id, plan, &vars, &identity).await?);
    // The burst: another fresh resource, the same requests at once.
    let identity = resource_identity(plan, base_identity)?;
    let vars = setup(ctx, id, plan, &identity).await?;
    let before = read_state(ctx, id, plan, &vars, &identity).await?;
    let requests: Vec<Request> = (0..n).map(|i| step_request(ctx, &plan.burst[i % kinds], &vars, &identity)).collect();
    let options = BurstOptions { mode, timeout: Some(BURST_TIMEOUT), ..BurstOptions::default() };
    let report = ctx.burst(id, requests, options).await.map_err(|e| format!("burst: {}", e.chain()))?;
    let burst_state = change(before, read_state(ctx, id, plan, &vars, &identity).await?);
    let won: Vec<usize> =
        report.responses.iter().filter(|r| r.status.is_some_and(|s| plan.is_success(s))).map(|r| r.index).collect();
    let mut burst_per_request = vec![0; kinds];
    for i in &won {
        burst_per_request[i % kinds] += 1;
    }
    Ok(Round {
        control,
        burst: won.len(),
        control_kinds: control_seen.iter().filter(|s| **s).count(),
        burst_per_request,
        duplicate: plan.unique.as_deref().and_then(|p| duplicate(&report, plan, p)),
        report,
        control_refused,
        control_state,
        burst_state,
    })
}

/// Runs check `id`'s race plans (each check its own: they share no state).
pub(crate) async fn run(ctx: Arc<ScanContext>, reporter: Reporter, id: &'static str) -> CheckVerdict {
    // A plan with one request is a limit overrun; with several, a race between operations.
    let candidates = if id == LIMIT_ID { spec_candidates(&ctx) } else { Vec::new() };
    let plans: Vec<&RacePlan> = ctx
        .settings
        .race_plans
        .iter()
        .filter(|p| (p.burst.len() > 1) == (id == TOCTOU_ID))
        .chain(candidates.iter())
        .collect();
    if plans.is_empty() {
        return CheckVerdict::Skipped(if id == TOCTOU_ID {
            "no [[race]] plan whose burst lists several requests in mortar.toml".into()
        } else {
            "no [[race]] plan in mortar.toml, and no limited action with a create operation in the API description"
                .into()
        });
    }
    let n = ctx.settings.race_burst.max(2);
    let mut notes = Vec::new();
    for plan in plans {
        let identity = match &plan.identity {
            Some(name) => match ctx.identities.iter().find(|i| &i.name == name) {
                Some(i) => Some(i.clone()),
                None => {
                    notes.push(format!("`{}`: identity `{name}` was not accepted by the pre-flight", plan.name));
                    continue;
                }
            },
            None => ctx.primary_identity(),
        };
        let mut lines = Vec::new();
        let mut wins = 0;
        let mut best: Option<(Round, Vec<Proof>)> = None;
        let mut rounds_run = 0;
        for r in 1..=plan.rounds {
            match round(&ctx, id, plan, &identity, n, round_mode(r)).await {
                Ok(outcome) => {
                    rounds_run += 1;
                    let proofs = outcome.proofs(id, plan.limit);
                    let state = match (&outcome.control_state, &outcome.burst_state) {
                        (Some((c, _)), Some((b, _))) => format!("; state moved {b} (control {c})"),
                        _ => String::new(),
                    };
                    let same = match &outcome.duplicate {
                        Some((value, at)) => format!("; {} successes carried `{value}`", at.len()),
                        None => String::new(),
                    };
                    let verdict = if proofs.is_empty() { "" } else { "; won" };
                    lines.push(format!(
                        "round {r}: burst of {n} ({}): {} success(es); control: {}{state}{same}{verdict}",
                        outcome.report.mode.as_str(),
                        outcome.burst,
                        outcome.control
                    ));
                    if !proofs.is_empty() {
                        wins += 1;
                        // The first won round is the evidence; the most proofs wins a tie-break.
                        if best.as_ref().is_none_or(|(_, p)| proofs.len() > p.len()) {
                            best = Some((outcome, proofs));
                        }
                    }
                }
                Err(e) => lines.push(format!("round {r}: {e}")),
            }
        }
        let summary = format!("`{}`: {wins} of {rounds_run} round(s) won ({})", plan.name, lines.join("; "));
        notes.push(summary.clone());
        let Some((best, proofs)) = best else { continue };
        let endpoint = Endpoint::new(plan.burst[0].method.clone(), plan.burst[0].path.clone());
        // The successes shown: the ones that share a unique value, else the first two.
        let successes: Vec<usize> = match &best.duplicate {
            Some((_, at)) => at.iter().take(2).copied().collect(),
            None => best
                .report
                .responses
                .iter()
                .filter(|r| r.status.is_some_and(|s| plan.is_success(s)))
                .map(|r| r.index)
                .take(2)
                .collect(),
        };
        let mut evidence: Vec<Evidence> = successes
            .iter()
            .filter_map(|i| burst_exchange(&best.report, *i))
            .enumerate()
            .map(|(k, ex)| ctx.evidence(&ex, format!("burst success {} of {}", k + 1, best.burst)))
            .collect();
        if let Some(refused) = &best.control_refused {
            evidence.push(
                ctx.evidence(refused, format!("control: sent one at a time, {} success(es) in all", best.control)),
            );
        }
        if let (Some((control, control_read)), Some((burst, burst_read))) = (&best.control_state, &best.burst_state) {
            evidence.push(ctx.evidence(burst_read, format!("state read after the burst: moved by {burst}")));
            evidence.push(ctx.evidence(control_read, format!("state read after the control: moved by {control}")));
        }
        let mut proven = Vec::new();
        for proof in &proofs {
            proven.push(match proof {
                Proof::Successes => format!(
                    "a burst of {n} got {} success(es){} where the same {n} requests sent one at a time on an \
                     equivalent fresh resource got {}",
                    best.burst,
                    if plan.burst.len() > 1 {
                        let each: Vec<String> = plan
                            .burst
                            .iter()
                            .zip(&best.burst_per_request)
                            .map(|(step, k)| format!("{} ×{k}", step_label(plan, step)))
                            .collect();
                        format!(" ({})", each.join(", "))
                    } else {
                        String::new()
                    },
                    best.control
                ),
                Proof::State => {
                    let (control, burst) = match (&best.control_state, &best.burst_state) {
                        (Some((c, _)), Some((b, _))) => (*c, *b),
                        _ => (0.0, 0.0),
                    };
                    let pointer = plan.state.as_ref().map(|s| s.pointer.as_str()).unwrap_or_default();
                    format!(
                        "the state read back (`{pointer}`) moved by {burst} after the burst where the sequential \
                         control moved it by {control}"
                    )
                }
                Proof::Duplicate => {
                    let (value, at) = best.duplicate.clone().unwrap_or_default();
                    format!(
                        "{} successes of the burst carried the same `{}` value `{value}`, which must be unique",
                        at.len(),
                        plan.unique.as_deref().unwrap_or_default()
                    )
                }
            });
        }
        let fresh = match &plan.fresh_client_cert {
            Some(issuer) => format!(
                " Each fresh resource was a client certificate never presented before (issued from {}): \
                 state the API sets up on an identity's first request.",
                issuer.source
            ),
            None => String::new(),
        };
        let race = race_command(&ctx, plan, &identity, n, best.report.mode);
        // The setup first (a fresh resource), then the burst; `{name}` is
        // what the setup's answer holds at the capture's pointer.
        let setup: Vec<String> =
            plan.setup.iter().map(|s| ctx.curl(&step_request(&ctx, s, &Vars::new(), &identity))).collect();
        let captured: Vec<String> =
            plan.setup.iter().flat_map(|s| s.capture.iter().map(|(n, p)| format!("{{{n}}} = {p}"))).collect();
        let mut reproduce =
            if setup.is_empty() { race } else { format!("{} ; {race}  # {}", setup.join(" ; "), captured.join(", ")) };
        if let Some(issuer) = &plan.fresh_client_cert {
            // A certificate nobody presented before, from the same CA (OpenSSL 3).
            reproduce = format!(
                "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=new-client-$RANDOM \
                 -keyout new-client.key -out new-client.csr ; printf 'extendedKeyUsage=clientAuth\\n' > new-client.ext \
                 ; openssl x509 -req -in new-client.csr -CA {} -CAkey {} -days 1 -extfile new-client.ext -out \
                 new-client.pem ; {reproduce}",
                shell_quote(&issuer.source),
                shell_quote(&issuer.key_source)
            );
        }
        reporter.observe(Observation {
            endpoint: Some(endpoint),
            component: Some(plan.name.clone()),
            severity: None,
            confidence: Confidence::Confirmed,
            title: None,
            description: format!(
                "`{}`{}: {}. Won {wins} of {rounds_run} round(s).{fresh}",
                plan.name,
                if plan.limit > 0 {
                    format!(" (at most {} success(es) per fresh resource)", plan.limit)
                } else {
                    String::new()
                },
                proven.join("; and ")
            ),
            evidence,
            reproduce,
        });
    }
    CheckVerdict::Ran(notes.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mortar_engine::{BurstResponse, HttpVersion, SentRequest};

    fn response(index: usize, status: u16, body: &str) -> BurstResponse {
        BurstResponse {
            index,
            status: Some(status),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            body_truncated: false,
            body_sha256: String::new(),
            sent_ns: 0,
            received_ns: Some(0),
            error: None,
        }
    }

    fn report(responses: Vec<BurstResponse>) -> BurstReport {
        BurstReport {
            mode: BurstMode::SinglePacket,
            protocol: HttpVersion::Http2,
            batches: vec![responses.len()],
            stream_limit: None,
            release_writes: vec![1],
            release_bytes: vec![0],
            responses,
            requests: Vec::new(),
            tls: None,
        }
    }

    fn plan(unique: Option<&str>) -> RacePlan {
        RacePlan {
            name: "t".into(),
            setup: Vec::new(),
            burst: Vec::new(),
            success: vec![(200, 299)],
            limit: 1,
            rounds: 1,
            identity: None,
            fresh_client_cert: None,
            state: None,
            unique: unique.map(String::from),
        }
    }

    fn round(control: usize, burst: usize, control_kinds: usize, states: Option<(f64, f64)>) -> Round {
        let read = |v: f64| {
            let ex = Exchange {
                request: SentRequest {
                    method: "GET".into(),
                    url: "https://127.0.0.1/x".into(),
                    version: HttpVersion::Http2,
                    headers: Vec::new(),
                    body: Vec::new(),
                },
                response: Response {
                    status: 200,
                    version: HttpVersion::Http2,
                    headers: Vec::new(),
                    body: Vec::new(),
                    body_truncated: false,
                    elapsed: Duration::ZERO,
                    tls: None,
                    redirects: Vec::new(),
                    blocked_redirect: None,
                },
            };
            (v, ex)
        };
        Round {
            control,
            burst,
            control_kinds,
            burst_per_request: vec![burst],
            report: report(Vec::new()),
            control_refused: None,
            control_state: states.map(|(c, _)| read(c)),
            burst_state: states.map(|(_, b)| read(b)),
            duplicate: None,
        }
    }

    #[test]
    fn rounds_alternate_the_automatic_choice_and_last_byte() {
        let modes: Vec<BurstMode> = (1..=4).map(round_mode).collect();
        assert_eq!(modes, [BurstMode::Auto, BurstMode::LastByte, BurstMode::Auto, BurstMode::LastByte]);
    }

    #[test]
    fn successes_prove_only_beyond_the_control_and_the_limit() {
        assert_eq!(round(1, 3, 1, None).proofs(LIMIT_ID, 1), vec![Proof::Successes]);
        // An action the API allows several times: the control got as many.
        assert!(round(5, 5, 1, None).proofs(LIMIT_ID, 1).is_empty());
        // Within the limit.
        assert!(round(0, 1, 0, None).proofs(LIMIT_ID, 1).is_empty());
        // Between operations, a control that let two operations through shows
        // they are not exclusive: no proof from the count.
        assert!(round(2, 4, 2, None).proofs(TOCTOU_ID, 1).is_empty());
        assert_eq!(round(1, 4, 1, None).proofs(TOCTOU_ID, 1), vec![Proof::Successes]);
    }

    #[test]
    fn a_state_that_moved_further_than_under_the_control_is_a_proof() {
        // Same success count (a lost update), but the balance went further.
        let r = round(1, 1, 1, Some((-100.0, -200.0)));
        assert_eq!(r.proofs(LIMIT_ID, 1), vec![Proof::State]);
        assert!(round(1, 1, 1, Some((-100.0, -100.0))).proofs(LIMIT_ID, 1).is_empty());
    }

    #[test]
    fn duplicates_count_only_among_successes() {
        let p = plan(Some("/number"));
        let r = report(vec![
            response(0, 200, r#"{"number": 1}"#),
            response(1, 200, r#"{"number": 2}"#),
            response(2, 409, r#"{"number": 2}"#),
        ]);
        assert_eq!(duplicate(&r, &p, "/number"), None);
        let r = report(vec![
            response(0, 200, r#"{"number": 1}"#),
            response(1, 201, r#"{"number": "7"}"#),
            response(2, 200, r#"{"number": "7"}"#),
        ]);
        assert_eq!(duplicate(&r, &p, "/number"), Some(("7".to_string(), vec![1, 2])));
    }
}

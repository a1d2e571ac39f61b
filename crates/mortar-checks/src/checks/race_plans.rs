//! `race-condition.limit-overrun` and `race-condition.toctou`: a limited
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

use crate::context::{RacePlan, RaceStep, Reporter, ScanContext};
use crate::registry::{Check, CheckVerdict};
use mortar_engine::{BurstOptions, BurstReport, Exchange, Request, Response};
use mortar_model::{
    Category, CheckInfo, Confidence, Endpoint, Evidence, Identity, Observation, Profile, References, Remediation,
    Severity,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const LIMIT_ID: &str = "race-condition.limit-overrun";
const TOCTOU_ID: &str = "race-condition.toctou";

/// One action raced against itself.
pub static LIMIT_OVERRUN: Check = Check {
    info: CheckInfo {
        id: LIMIT_ID,
        category: Category::RaceCondition,
        severity: Severity::High,
        profile: Profile::Active,
        title: "Limit overrun by concurrent requests (race condition)",
        description: "For each race plan in mortar.toml, makes a fresh resource through the API and sends the \
            limited action `--race-burst` times one after another (the control), then makes another and sends \
            the same requests as one synchronized burst (HTTP/2 single-packet, or HTTP/1.1 last-byte). More \
            successes in the burst than in the control and than the plan's limit prove that the check and the \
            use are not atomic. Several rounds; the finding gives the win rate and every burst is listed in \
            coverage. Active profile only: it changes state.",
        remediation: Remediation {
            summary: "Make the check part of the write: one conditional UPDATE (`... WHERE uses_left > 0`, \
                succeed only when a row changed) or a row lock (`SELECT ... FOR UPDATE`) inside one transaction \
                that also records the use. An in-process mutex held across an await is not a fix: it serialises \
                one process and nothing else.",
            actix_web: "In the handler, `let mut tx = pool.begin().await?;` then `sqlx::query(\"UPDATE coupons SET \
                uses_left = uses_left - 1 WHERE id = $1 AND uses_left > 0\")`, return `HttpResponse::Conflict()` \
                when `rows_affected() == 0`, insert the redemption with `&mut *tx`, and `tx.commit().await?`.",
            axum: "In the handler, `let mut tx = state.pool.begin().await?;` then a conditional `UPDATE ... WHERE \
                uses_left > 0` with `rows_affected()` checked (answer `StatusCode::CONFLICT` on 0), the redemption \
                inserted in the same transaction, then `tx.commit().await?`.",
        },
        references: References { owasp_api: &["API6:2023", "API4:2023"], cwe: &["CWE-362", "CWE-367"] },
    },
    run: |ctx, reporter| Box::pin(run(ctx, reporter, LIMIT_ID)),
};

/// Two operations that check the same state, raced against each other.
pub static TOCTOU: Check = Check {
    info: CheckInfo {
        id: TOCTOU_ID,
        category: Category::RaceCondition,
        severity: Severity::High,
        profile: Profile::Active,
        title: "Check-then-act race between operations (TOCTOU)",
        description: "For each race plan whose burst lists several requests (cancel and ship of one order, \
            refund and cancel, transfers from one balance), sends them one after another on a fresh resource \
            (the control), then together as one synchronized burst on another. Confirmed when requests of \
            different operations all succeed in the burst, and more than the plan's limit, where the control \
            lets only one of them through: each operation checked a state the other was about to change. \
            Active profile only.",
        remediation: Remediation {
            summary: "Put the state condition in the write and make the operations exclusive: `UPDATE orders SET \
                status = 'cancelled' WHERE id = $1 AND status = 'pending'` (and the same for shipping), succeeding \
                only when a row changed, or lock the row (`SELECT ... FOR UPDATE`) in one transaction with the \
                change. Re-checking in application code, or an in-process mutex, is not a fix.",
            actix_web: "In each handler, one `sqlx::query(\"UPDATE orders SET status = 'shipped' WHERE id = $1 AND \
                status = 'pending'\")` in the transaction that does the work; answer `HttpResponse::Conflict()` \
                when `rows_affected() == 0`.",
            axum: "In each handler, a conditional `UPDATE ... WHERE status = 'pending'` inside `pool.begin()`, \
                answering `StatusCode::CONFLICT` when `rows_affected() == 0`.",
        },
        references: References { owasp_api: &["API6:2023"], cwe: &["CWE-367", "CWE-362"] },
    },
    run: |ctx, reporter| Box::pin(run(ctx, reporter, TOCTOU_ID)),
};

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
        });
    }
    plans
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
    /// Distinct burst requests (by position in the plan) that succeeded at least once.
    control_kinds: usize,
    burst_kinds: usize,
    report: BurstReport,
    control_refused: Option<Exchange>,
}

async fn round(
    ctx: &ScanContext,
    id: &'static str,
    plan: &RacePlan,
    identity: &Option<Arc<Identity>>,
    n: usize,
) -> Result<Round, String> {
    let kinds = plan.burst.len();
    // The control: a fresh resource, the same requests one at a time.
    let vars = setup(ctx, id, plan, identity).await?;
    let mut control = 0;
    let mut control_seen = vec![false; kinds];
    let mut control_refused = None;
    for i in 0..n {
        let request = step_request(ctx, &plan.burst[i % kinds], &vars, identity);
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
    // The burst: another fresh resource, the same requests at once.
    let vars = setup(ctx, id, plan, identity).await?;
    let requests: Vec<Request> =
        (0..n).map(|i| step_request(ctx, &plan.burst[i % kinds], &vars, identity).tag(id)).collect();
    let options = BurstOptions { timeout: Some(BURST_TIMEOUT), ..BurstOptions::default() };
    let report = ctx.engine.burst(requests, options).await.map_err(|e| format!("burst: {}", e.chain()))?;
    let won: Vec<usize> =
        report.responses.iter().filter(|r| r.status.is_some_and(|s| plan.is_success(s))).map(|r| r.index).collect();
    let mut burst_seen = vec![false; kinds];
    for i in &won {
        burst_seen[i % kinds] = true;
    }
    Ok(Round {
        control,
        burst: won.len(),
        control_kinds: control_seen.iter().filter(|s| **s).count(),
        burst_kinds: burst_seen.iter().filter(|s| **s).count(),
        report,
        control_refused,
    })
}

async fn run(ctx: Arc<ScanContext>, reporter: Reporter, id: &'static str) -> CheckVerdict {
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
        let mut best: Option<Round> = None;
        let mut rounds_run = 0;
        for r in 1..=plan.rounds {
            match round(&ctx, id, plan, &identity, n).await {
                Ok(outcome) => {
                    rounds_run += 1;
                    let overrun = outcome.burst > outcome.control && outcome.burst > plan.limit;
                    // Between operations: several got through where one at a time only one did.
                    let won = if id == TOCTOU_ID {
                        overrun && outcome.burst_kinds > 1 && outcome.control_kinds <= 1
                    } else {
                        overrun
                    };
                    lines.push(format!(
                        "round {r}: burst of {n} ({}): {} success(es); control: {}",
                        outcome.report.mode.as_str(),
                        outcome.burst,
                        outcome.control
                    ));
                    if won {
                        wins += 1;
                    }
                    if best.as_ref().is_none_or(|b| {
                        outcome.burst - outcome.control.min(outcome.burst) > b.burst - b.control.min(b.burst)
                    }) {
                        best = Some(outcome);
                    }
                }
                Err(e) => lines.push(format!("round {r}: {e}")),
            }
        }
        let summary = format!("`{}`: {wins} of {rounds_run} round(s) won ({})", plan.name, lines.join("; "));
        notes.push(summary.clone());
        let Some(best) = best.filter(|_| wins > 0) else { continue };
        let endpoint = Endpoint::new(plan.burst[0].method.clone(), plan.burst[0].path.clone());
        let successes: Vec<usize> = best
            .report
            .responses
            .iter()
            .filter(|r| r.status.is_some_and(|s| plan.is_success(s)))
            .map(|r| r.index)
            .take(2)
            .collect();
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
        let examples: Vec<Request> =
            plan.burst.iter().map(|s| step_request(&ctx, s, &Vars::new(), &identity)).collect();
        let race = match examples.as_slice() {
            [one] => format!(
                "mortar race {} -X {} -n {n} --limit {}",
                crate::reproduce::shell_quote(&one.url()),
                one.method,
                plan.limit
            ),
            several => format!(
                "mortar race {} -n {n} --limit {}",
                several
                    .iter()
                    .map(|r| format!(
                        "--curl {}",
                        crate::reproduce::shell_quote(&format!("curl -X {} {}", r.method, r.url()))
                    ))
                    .collect::<Vec<_>>()
                    .join(" "),
                plan.limit
            ),
        };
        // The setup first (a fresh resource), then the burst; `{name}` is
        // what the setup's answer holds at the capture's pointer.
        let setup: Vec<String> =
            plan.setup.iter().map(|s| ctx.curl(&step_request(&ctx, s, &Vars::new(), &identity))).collect();
        let captured: Vec<String> =
            plan.setup.iter().flat_map(|s| s.capture.iter().map(|(n, p)| format!("{{{n}}} = {p}"))).collect();
        let reproduce =
            if setup.is_empty() { race } else { format!("{} ; {race}  # {}", setup.join(" ; "), captured.join(", ")) };
        reporter.observe(Observation {
            endpoint: Some(endpoint),
            component: Some(plan.name.clone()),
            severity: None,
            confidence: Confidence::Confirmed,
            title: None,
            description: format!(
                "`{}`{}: a burst of {n} got {} success(es) where the same {n} requests sent one at a time on \
                 an equivalent fresh resource got {}. Won {wins} of {rounds_run} round(s).",
                plan.name,
                if plan.limit > 0 {
                    format!(" (at most {} success(es) per fresh resource)", plan.limit)
                } else {
                    String::new()
                },
                best.burst,
                best.control
            ),
            evidence,
            reproduce,
        });
    }
    CheckVerdict::Ran(notes.join(" | "))
}

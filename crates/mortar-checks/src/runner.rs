//! Runs the selected checks in parallel on one context until they finish or
//! the deadline passes, then aggregates what they observed into findings.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
use futures::FutureExt;
use mortar_model::{CheckCoverage, CheckStatus, Finding, Observation, aggregate};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the checks produced.
#[derive(Debug, Clone)]
pub struct ScanResults {
    /// Aggregated findings (unsorted).
    pub findings: Vec<Finding>,
    /// Coverage of the checks that were run, in registry order.
    pub coverage: Vec<CheckCoverage>,
    /// The phases: destructive operations held back, identities lost.
    pub phases: crate::context::PhaseReport,
}

/// Tells the last-phase gate when a check ends, however it ends (a check
/// cut short by the deadline is dropped, not finished).
struct Running {
    ctx: Arc<ScanContext>,
    check: &'static str,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.ctx.hold.finished(self.check);
    }
}

/// Extra time after the deadline for checks to notice it and return their verdicts.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// Runs `checks` concurrently. Observations made before a check is cut short are kept.
pub async fn run_checks(ctx: Arc<ScanContext>, checks: &[&'static Check]) -> ScanResults {
    let sink: Arc<Mutex<Vec<(&'static str, Observation)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    ctx.hold.begin(checks.iter().map(|c| c.info.id));
    let gate = {
        let ctx = ctx.clone();
        tokio::spawn(async move { ctx.gate_last_phase().await })
    };
    for &check in checks {
        let reporter = Reporter::new(check.info.id, sink.clone());
        let running = Running { ctx: ctx.clone(), check: check.info.id };
        let handle = tokio::spawn((check.run)(ctx.clone(), reporter).map(move |verdict| {
            drop(running);
            verdict
        }));
        tasks.push((check, handle));
    }
    let limit = ctx.engine.time_left().map(|left| left + DEADLINE_GRACE);
    let mut verdicts = Vec::new();
    for (check, mut handle) in tasks {
        let outcome = match limit {
            // Every task shares the same wall-clock limit, so waiting in turn is fine.
            Some(_) => {
                let left = ctx.engine.time_left().unwrap_or_default() + DEADLINE_GRACE;
                match tokio::time::timeout(left, &mut handle).await {
                    Ok(joined) => joined.map_err(|e| e.to_string()),
                    Err(_) => {
                        handle.abort();
                        Ok(CheckVerdict::Inconclusive("the scan deadline (--max-time) cut this check short".into()))
                    }
                }
            }
            None => handle.await.map_err(|e| e.to_string()),
        };
        let verdict =
            outcome.unwrap_or_else(|panic| CheckVerdict::Inconclusive(format!("the check failed internally: {panic}")));
        verdicts.push((check, verdict));
    }
    // Every check has ended: the gate sees none running and returns (after
    // its liveness round, when the scan wrote anything).
    let left = ctx.engine.time_left().unwrap_or(Duration::from_secs(30)) + DEADLINE_GRACE;
    if tokio::time::timeout(left, gate).await.is_err() {
        ctx.hold.open();
    }
    let phases = ctx.phase_report();
    let requests = ctx.engine.requests_by_tag();
    let observations = std::mem::take(&mut *sink.lock().unwrap_or_else(|p| p.into_inner()));
    let mut by_check: BTreeMap<&'static str, Vec<Observation>> = BTreeMap::new();
    for (id, obs) in observations {
        by_check.entry(id).or_default().push(obs);
    }
    let mut findings = Vec::new();
    let mut coverage = Vec::new();
    for (check, verdict) in verdicts {
        let observed = by_check.remove(check.info.id).unwrap_or_default();
        let remediation = check.info.remediation.for_framework(ctx.framework());
        findings.extend(aggregate(&check.info, observed, &remediation));
        let (mut status, mut reason) = match verdict {
            CheckVerdict::Ran(note) => (CheckStatus::Ran, Some(note)),
            CheckVerdict::Skipped(reason) => (CheckStatus::Skipped, Some(reason)),
            CheckVerdict::Inconclusive(reason) => (CheckStatus::Inconclusive, Some(reason)),
        };
        if let Some(refused) = phases.refused.get(check.info.id) {
            let lost: Vec<String> =
                phases.lost.iter().map(|(name, after)| format!("{name} lost after {after}")).collect();
            let before = reason.take().unwrap_or_default();
            reason = Some(format!(
                "skipped in part: identity {}; {refused} request(s) as it not sent. {before}",
                lost.join(", identity ")
            ));
            if status == CheckStatus::Ran {
                status = CheckStatus::Inconclusive;
            }
        }
        coverage.push(CheckCoverage {
            check: check.info.id.to_string(),
            category: check.info.category,
            status,
            reason,
            requests: requests.get(check.info.id).copied().unwrap_or(0),
        });
    }
    ScanResults { findings, coverage, phases }
}

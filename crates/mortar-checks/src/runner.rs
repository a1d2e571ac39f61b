//! Runs the selected checks in parallel on one context until they finish or
//! the deadline passes, then aggregates what they observed into findings.

use crate::check::{Check, CheckVerdict};
use crate::context::{Reporter, ScanContext};
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
}

/// Extra time after the deadline for checks to notice it and return their verdicts.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// Runs `checks` concurrently. Observations made before a check is cut short are kept.
pub async fn run_checks(ctx: Arc<ScanContext>, checks: &[&'static Check]) -> ScanResults {
    let sink: Arc<Mutex<Vec<(&'static str, Observation)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for &check in checks {
        let reporter = Reporter::new(check.info.id, sink.clone());
        let handle = tokio::spawn((check.run)(ctx.clone(), reporter));
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
        let (status, reason) = match verdict {
            CheckVerdict::Ran(note) => (CheckStatus::Ran, Some(note)),
            CheckVerdict::Skipped(reason) => (CheckStatus::Skipped, Some(reason)),
            CheckVerdict::Inconclusive(reason) => (CheckStatus::Inconclusive, Some(reason)),
        };
        coverage.push(CheckCoverage {
            check: check.info.id.to_string(),
            category: check.info.category,
            status,
            reason,
            requests: requests.get(check.info.id).copied().unwrap_or(0),
        });
    }
    ScanResults { findings, coverage }
}

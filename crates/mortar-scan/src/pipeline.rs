//! The scan itself: engine, API description, pre-flight, learning, checks,
//! then the report with baseline and suppressions applied.

use crate::error::{InputError, ScanError};
use crate::events::{EventSink, ScanEvent};
use crate::options::ScanOptions;
use crate::spec;
use mortar_checks::reproduce::ReproduceContext;
use mortar_checks::{ScanContext, ScanOperation, ScanSettings};
use mortar_engine::{Engine, EngineConfig};
use mortar_model::report::ReportParts;
use mortar_model::{
    CheckCoverage, Coverage, FindingStatus, Identity, IdentityCoverage, Report, Target, TargetInfo, Tool,
};
use mortar_report::SpecLocation;
use std::sync::Arc;
use std::time::Instant;

/// A finished scan: the report, and where the description defines each
/// operation (SARIF locations).
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// The report (gates are the caller's).
    pub report: Report,
    /// Operation locations in the API description.
    pub spec_locations: Vec<SpecLocation>,
}

/// Whose secrets the engine masks: the identities, and the credentials a
/// captured signed request carries (`--signed-sample`), which are secrets given
/// to mortar too; the sample's signature stays visible (it is the evidence).
fn redaction_identities(options: &ScanOptions) -> Vec<Arc<Identity>> {
    let mut all = options.identities.clone();
    if let Some(sample) = &options.signed_sample {
        let mut captured = Identity::new("sample");
        for (name, value) in &sample.headers {
            let lower = name.to_ascii_lowercase();
            let credential = matches!(lower.as_str(), "authorization" | "cookie" | "proxy-authorization")
                || ["api-key", "apikey", "token", "secret", "session"].iter().any(|w| lower.contains(w));
            if credential {
                captured.headers.push(mortar_model::IdentityHeader {
                    name: name.clone(),
                    value: mortar_model::Secret::new(value.clone()),
                });
            }
        }
        if !captured.headers.is_empty() {
            all.push(Arc::new(captured));
        }
    }
    all
}

/// The operations without an API description: the base path.
pub(crate) fn bare_operations(target: &Target) -> Vec<ScanOperation> {
    vec![ScanOperation::bare("GET", &target.base_path)]
}

/// Where the API description defines each operation, for SARIF locations:
/// paths under the working directory become relative to it (the repository
/// root in CI), others absolute `file://` URIs, fetched descriptions their URL.
fn spec_locations(operations: &[ScanOperation]) -> Vec<SpecLocation> {
    let cwd = std::env::current_dir().ok();
    operations
        .iter()
        .filter_map(|op| {
            let (file, line, _) = op.source.as_ref()?;
            let line = (*line)?;
            let (uri, relative) = if spec::is_url(file) {
                (file.clone(), false)
            } else {
                let path = std::path::Path::new(file);
                let under_cwd = cwd.as_ref().and_then(|c| path.strip_prefix(c).ok());
                match (path.is_absolute(), under_cwd) {
                    (false, _) => (file.trim_start_matches("./").to_string(), true),
                    (true, Some(rel)) => (rel.display().to_string(), true),
                    (true, None) => (format!("file://{}", path.display()), false),
                }
            };
            let uri = uri.replace('\\', "/").replace(' ', "%20");
            Some(SpecLocation {
                method: op.endpoint.method.clone(),
                path: op.endpoint.path.clone(),
                uri,
                relative,
                line,
            })
        })
        .collect()
}

/// The engine a scan sends everything through.
fn engine(options: &ScanOptions) -> Result<Engine, ScanError> {
    let mut scope_hosts = vec![options.target.host.clone()];
    scope_hosts.extend(options.scope_hosts.iter().map(|h| h.to_ascii_lowercase()));
    let config = EngineConfig {
        concurrency: options.pace.concurrency,
        rate: options.pace.rate,
        timeout: options.pace.timeout,
        deadline: Some(tokio::time::Instant::now() + options.pace.max_time),
        max_requests: options.pace.max_requests,
        scope_hosts,
        proxy: options.proxy.clone(),
        tls: options.tls.clone(),
        ..EngineConfig::default()
    };
    Ok(Engine::new(config, &redaction_identities(options))?)
}

/// Refused connections in a row, after the target had answered, that make
/// the report say the target went away (one or two are a blip).
const OUTAGE_NOTE_MIN: u64 = 5;

/// Runs a scan, telling `events` what happens as it goes.
pub async fn run_observed(options: &ScanOptions, events: Option<EventSink>) -> Result<ScanOutcome, ScanError> {
    let emit = |event: ScanEvent| {
        if let Some(sink) = &events {
            sink(event);
        }
    };
    let started_at =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let clock = Instant::now();
    let (run, skipped) =
        mortar_checks::plan(options.profile, &options.selection).map_err(|e| InputError::new(e.to_string()))?;
    let engine = engine(options)?;
    let mut spec_label = options.spec.clone();
    let mut api = match options.spec.as_deref() {
        Some(source) => Some(spec::load(source, &options.tls, options.pace.timeout).await?),
        None => None,
    };
    let mut target = match &api {
        Some(api) => spec::resolve(api, &options.target.url)?.target,
        None => options.target.clone(),
    };
    let preflight = mortar_checks::preflight::preflight(&engine, &target, &options.identities).await;
    if !preflight.any_response {
        let detail = preflight.checks.first().map(|c| c.detail.clone()).unwrap_or_default();
        return Err(ScanError::NoResponse { url: options.target.url.clone(), detail });
    }
    for check in preflight.checks.iter().skip(1) {
        emit(ScanEvent::Identity { name: check.name.clone(), accepted: check.accepted });
    }
    let accepted = preflight.accepted(&options.identities);
    if !options.identities.is_empty() && accepted.is_empty() {
        let detail: Vec<String> =
            preflight.checks.iter().skip(1).map(|c| format!("{} ({})", c.name, c.detail)).collect();
        return Err(ScanError::NoIdentityAccepted { url: options.target.url.clone(), detail: detail.join(", ") });
    }
    let mut notes = Vec::new();
    if api.is_none()
        && let Some((url, found)) = spec::discover(&engine, &target).await
    {
        notes.push(format!("API description discovered at {url} and used for the scan."));
        // Served by the API itself: its servers say where its paths live; an
        // empty or root server keeps the path the target URL was given with,
        // unless the paths already begin with it.
        let choice = mortar_spec::choose_server(&found, &target);
        if choice.base_path != "/" || mortar_spec::paths_begin_with(&found, &target.base_path) {
            target.base_path = choice.base_path;
        }
        spec_label = Some(url);
        api = Some(found);
    }
    let operations = match &api {
        Some(api) => {
            let paths = spec::PathFilter { include: &options.include_paths, exclude: &options.exclude_paths };
            let known = spec::learn(&engine, &target, api, accepted.first().cloned(), &paths).await;
            spec::operations(api, &target, &known)
        }
        None => bare_operations(&target),
    };
    let skipped_operations = api.as_ref().map(spec::skipped).unwrap_or_default();
    if !skipped_operations.is_empty() {
        notes.push(format!(
            "{} operation(s) of the API description could not be used and were not scanned (see coverage).",
            skipped_operations.len()
        ));
    }
    let ctx = Arc::new(ScanContext::new(
        target.clone(),
        engine.clone(),
        ScanSettings {
            profile: options.profile,
            framework: options.framework,
            race_burst: options.pace.race_burst,
            race_rounds: options.pace.race_rounds,
            rate_burst: options.pace.rate_burst,
            include_paths: options.include_paths.clone(),
            exclude_paths: options.exclude_paths.clone(),
            signed_sample: options.signed_sample.clone(),
            race_plans: options.race_plans.clone(),
            canary: mortar_checks::canary::CanaryPlan {
                listen: options.canary_listen,
                advertised: options.canary_url.clone(),
            },
        },
        accepted,
        operations,
        ReproduceContext { ca_cert: options.ca_cert.as_ref().map(|p| p.display().to_string()) },
    ));
    emit(ScanEvent::Planned { operations: ctx.operations.len(), checks: run.len() });
    emit(ScanEvent::ChecksStarted { checks: run.iter().map(|c| c.info.id).collect() });
    let results = mortar_checks::run_checks(ctx.clone(), &run).await;
    for coverage in &results.coverage {
        if let Some(check) = mortar_checks::find(&coverage.check) {
            let findings = results.findings.iter().filter(|f| f.check == coverage.check).count();
            emit(ScanEvent::CheckFinished { check: check.info.id, status: coverage.status, findings });
        }
    }
    let mut findings = results.findings;
    if let Some(baseline) = &options.baseline {
        for f in &mut findings {
            if baseline.contains(&f.id) {
                f.status = FindingStatus::Unchanged;
            }
        }
    }
    let today = time::OffsetDateTime::now_utc().date();
    notes.extend(crate::suppress::apply(&mut findings, &options.suppressions, today));
    notes.extend(results.phases.notes.iter().cloned());
    let mut identities = identity_coverage(&preflight, &ctx, &options.identities);
    for identity in &mut identities {
        identity.lost_after = results.phases.lost.get(&identity.name).cloned();
    }
    let coverage = Coverage { checks: registry_order(results.coverage, skipped), identities, skipped_operations };
    let rejected: Vec<String> =
        preflight.checks.iter().skip(1).filter(|c| !c.accepted).map(|c| format!("{} ({})", c.name, c.detail)).collect();
    if !rejected.is_empty() {
        notes.push(format!("Identities refused at pre-flight and not used: {}", rejected.join(", ")));
    }
    let stats = engine.stats();
    if let Some(outage) = engine.outage().filter(|o| o.failed >= OUTAGE_NOTE_MIN) {
        notes.push(format!(
            "The target stopped accepting connections during the scan: {} request(s) in a row could not connect, \
             starting with {} ({}); {}. What the checks concluded from then on is incomplete.",
            outage.failed,
            outage.first,
            outage.error,
            if outage.recovered { "it answered again after them" } else { "it had not come back when the scan ended" }
        ));
    }
    if stats.deadline_reached {
        notes.push("The scan deadline (--max-time) was reached: some checks are inconclusive.".into());
    }
    let spec_locations = spec_locations(&ctx.operations);
    let report = Report::assemble(ReportParts {
        tool: Tool { name: "mortar".into(), version: env!("CARGO_PKG_VERSION").into() },
        target: TargetInfo { url: target.url.clone(), spec: spec_label },
        profile: options.profile,
        started_at,
        duration_ms: clock.elapsed().as_millis() as u64,
        coverage,
        findings,
        stats,
        notes,
    });
    emit(ScanEvent::Finished { score: report.score, findings: report.findings.len(), requests: report.stats.requests });
    Ok(ScanOutcome { report, spec_locations })
}

fn registry_order(ran: Vec<CheckCoverage>, skipped: Vec<CheckCoverage>) -> Vec<CheckCoverage> {
    let mut all: Vec<CheckCoverage> = ran.into_iter().chain(skipped).collect();
    let position = |id: &str| mortar_checks::CHECKS.iter().position(|c| c.info.id == id).unwrap_or(usize::MAX);
    all.sort_by_key(|c| position(&c.check));
    all
}

fn identity_coverage(
    preflight: &mortar_checks::preflight::Preflight,
    ctx: &ScanContext,
    given: &[Arc<Identity>],
) -> Vec<IdentityCoverage> {
    let usage = ctx.identity_usage();
    preflight
        .checks
        .iter()
        .map(|p| {
            let used = usage.iter().find(|u| u.name == p.name);
            IdentityCoverage {
                name: p.name.clone(),
                accepted: p.accepted,
                preflight: p.detail.clone(),
                logins: ctx
                    .identities
                    .iter()
                    .chain(given.iter())
                    .find(|i| i.name == p.name)
                    .map(|i| i.session.logins())
                    .unwrap_or(0),
                lost_after: None,
                used_by: used.map(|u| u.used_by.clone()).unwrap_or_default(),
                operations_reached: used.map(|u| u.operations_reached.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

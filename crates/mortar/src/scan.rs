//! `mortar scan`: settings from the layers, pre-flight, checks, report, gates.

use crate::cli::ScanArgs;
use crate::config::{self, Layer, Pace};
use crate::error::UsageError;
use crate::identity;
use mortar_checks::reproduce::ReproduceContext;
use mortar_checks::{RacePlan, RaceState, RaceStep, ScanContext, ScanOperation, ScanSettings, Selection, SignedSample};
use mortar_engine::{Engine, EngineConfig, ProxyConfig, TlsSettings};
use mortar_model::report::ReportParts;
use mortar_model::{
    CheckCoverage, Coverage, FindingStatus, Framework, Gates, Identity, IdentityCoverage, Profile, Report, Severity,
    Target, TargetInfo, Tool,
};
use mortar_report::SpecLocation;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Output formats of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human summary.
    Summary,
    /// The JSON report.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML.
    Junit,
    /// Markdown (pull-request comment, job summary).
    Markdown,
    /// One self-contained HTML file.
    Html,
}

impl Format {
    /// Parses a format name; planned formats say so.
    pub fn parse(name: &str) -> Result<Format, UsageError> {
        match name.to_ascii_lowercase().as_str() {
            "summary" => Ok(Format::Summary),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "junit" => Ok(Format::Junit),
            "markdown" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            _ => Err(UsageError::new(format!(
                "unknown format `{name}` (expected summary, json, sarif, junit, markdown or html)"
            ))),
        }
    }
}

/// Everything a scan needs, resolved and validated.
#[derive(Debug)]
pub struct Settings {
    /// The target.
    pub target: Target,
    /// Profile.
    pub profile: Profile,
    /// Pace and limits.
    pub pace: Pace,
    /// Main output format.
    pub format: Format,
    /// Main output file (stdout when `None`).
    pub output: Option<PathBuf>,
    /// Extra reports.
    pub reports: Vec<(Format, PathBuf)>,
    /// Gates.
    pub gates: Gates,
    /// Finding ids of the baseline report.
    pub baseline: Option<BTreeSet<String>>,
    /// Accepted findings.
    pub suppressions: Vec<crate::suppress::Suppression>,
    /// Identities, in order.
    pub identities: Vec<Arc<Identity>>,
    /// Check selection.
    pub selection: Selection,
    /// TLS trust.
    pub tls: TlsSettings,
    /// The CA file path, for reproduce commands.
    pub ca_cert: Option<PathBuf>,
    /// HTTP proxy.
    pub proxy: Option<ProxyConfig>,
    /// Hosts in scope besides the target's.
    pub scope_hosts: Vec<String>,
    /// Path globs.
    pub include_paths: Vec<String>,
    /// Path globs.
    pub exclude_paths: Vec<String>,
    /// Print the plan only.
    pub dry_run: bool,
    /// `--framework`, when not auto.
    pub framework: Option<Framework>,
    /// `--spec`: a file path or URL.
    pub spec: Option<String>,
    /// `--signed-sample`: a captured signed request.
    pub signed_sample: Option<SignedSample>,
    /// `[[race]]` plans.
    pub race_plans: Vec<RacePlan>,
    /// `--canary-listen`.
    pub canary_listen: Option<std::net::SocketAddr>,
    /// `--canary-url`.
    pub canary_url: Option<String>,
}

/// Builds the settings from flags, `MORTAR_*` variables and the config file.
pub fn resolve(args: &ScanArgs, env: &BTreeMap<String, String>) -> Result<Settings, UsageError> {
    let config_path = args.config.clone().or_else(|| env.get("MORTAR_CONFIG").map(PathBuf::from));
    let file = match &config_path {
        Some(path) => config::file_layer(path)?,
        None => Layer::default(),
    };
    let file_identities = file.identities.clone();
    let layer = config::overlay(config::overlay(file, config::env_layer(env)?), config::flag_layer(args));
    let url = layer
        .url
        .clone()
        .ok_or_else(|| UsageError::new("no target URL: give one, e.g. `mortar scan https://api.example.com/`"))?;
    let target = Target::parse(&url).map_err(|e| UsageError::new(format!("target: {e}")))?;
    let profile = layer
        .profile
        .as_deref()
        .map(str::parse::<Profile>)
        .transpose()
        .map_err(|e| UsageError::new(e.to_string()))?
        .unwrap_or(Profile::Standard);
    let pace = layer.pace()?;
    let format = Format::parse(layer.format.as_deref().unwrap_or("summary"))?;
    let mut reports = Vec::new();
    for spec in layer.reports.iter().flatten() {
        let (name, file) =
            spec.split_once('=').ok_or_else(|| UsageError::new(format!("--report `{spec}`: expected FORMAT=FILE")))?;
        reports.push((Format::parse(name)?, PathBuf::from(file)));
    }
    let threshold = match layer.threshold {
        Some(t) if (0..=100).contains(&t) => Some(t as u8),
        Some(t) => return Err(UsageError::new(format!("threshold: `{t}` is not from 0 to 100"))),
        None => None,
    };
    let fail_on = layer
        .fail_on
        .as_deref()
        .map(str::parse::<Severity>)
        .transpose()
        .map_err(|e| UsageError::new(format!("fail-on: {e}")))?;
    let baseline = layer.baseline.as_ref().map(load_baseline).transpose()?;
    let suppressions = crate::suppress::parse(layer.suppressions.as_deref().unwrap_or_default())?;
    let ca_pem = match &layer.ca_cert {
        Some(path) => vec![
            std::fs::read(path)
                .map_err(|e| UsageError::new(format!("--ca-cert: cannot read {}: {e}", path.display())))?,
        ],
        None => Vec::new(),
    };
    let proxy = layer.proxy.as_deref().map(ProxyConfig::parse).transpose().map_err(UsageError::new)?;
    let identities = identity::identities(args, file_identities.as_ref(), env)?;
    let framework = match layer.framework.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("auto") => None,
        Some("actix-web") | Some("actix") => Some(Framework::ActixWeb),
        Some("axum") => Some(Framework::Axum),
        Some(other) => {
            return Err(UsageError::new(format!("framework: `{other}` is not actix-web, axum or auto")));
        }
    };
    let signed_sample = match &layer.signed_sample {
        Some(path) => {
            let what = format!("--signed-sample {}", path.display());
            let bytes = std::fs::read(path).map_err(|e| UsageError::new(format!("{what}: cannot read: {e}")))?;
            let raw = crate::race::parse_raw(&bytes, &what)?;
            let target = match (&raw.target, &raw.url) {
                (Some(t), _) => t.clone(),
                (None, Some(url)) => url.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap_or_else(|| "/".into()),
                (None, None) => return Err(UsageError::new(format!("{what}: no request target"))),
            };
            Some(SignedSample { method: raw.method, target, headers: raw.headers, body: raw.body })
        }
        None => None,
    };
    let race_plans = layer
        .race
        .iter()
        .flatten()
        .map(|p| race_plan(p, layer.race_rounds.map(|r| r as usize), pace.race_rounds))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((plan, name)) = race_plans
        .iter()
        .find_map(|p| p.identity.as_ref().filter(|n| !identities.iter().any(|i| &i.name == *n)).map(|n| (p, n)))
    {
        return Err(UsageError::new(format!("race plan `{}`: no identity named `{name}`", plan.name)));
    }
    let canary_listen = match &layer.canary_listen {
        Some(text) => Some(text.parse::<std::net::SocketAddr>().map_err(|_| {
            UsageError::new(format!("canary_listen: `{text}` is not an address and port like 127.0.0.1:8089"))
        })?),
        None => None,
    };
    if let Some(url) = &layer.canary_url {
        if Target::parse(url).is_err() {
            return Err(UsageError::new(format!("canary_url: `{url}` is not an http:// or https:// URL")));
        }
        if canary_listen.is_none() {
            return Err(UsageError::new("canary_url needs canary_listen: the address the URL leads to"));
        }
    }
    Ok(Settings {
        target,
        profile,
        pace,
        format,
        output: layer.output.clone(),
        reports,
        gates: Gates { threshold, fail_on },
        baseline,
        suppressions,
        identities,
        selection: Selection {
            checks: layer.checks.clone().unwrap_or_default(),
            skip: layer.skip_checks.clone().unwrap_or_default(),
        },
        tls: TlsSettings { ca_pem, strict: layer.strict_tls.unwrap_or(false), only_given_roots: false },
        ca_cert: layer.ca_cert.clone(),
        proxy,
        scope_hosts: layer.scope_hosts.clone().unwrap_or_default(),
        include_paths: layer.include_paths.clone().unwrap_or_default(),
        exclude_paths: layer.exclude_paths.clone().unwrap_or_default(),
        dry_run: args.dry_run,
        framework,
        spec: layer.spec.clone(),
        signed_sample,
        race_plans,
        canary_listen,
        canary_url: layer.canary_url.clone(),
    })
}

/// Whose secrets the engine masks: the identities, and the credentials a
/// captured signed request carries (`--signed-sample`), which are secrets given
/// to mortar too; the sample's signature stays visible (it is the evidence).
fn redaction_identities(settings: &Settings) -> Vec<Arc<Identity>> {
    let mut all = settings.identities.clone();
    if let Some(sample) = &settings.signed_sample {
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

/// A `[[race]]` table, validated.
/// `race_rounds`, when set (flag, variable or file), applies to every plan;
/// otherwise a plan's own `rounds`, else `default_rounds`.
fn race_plan(
    config: &config::RacePlanConfig,
    set_rounds: Option<usize>,
    default_rounds: usize,
) -> Result<RacePlan, UsageError> {
    let what = format!("race plan `{}`", config.name);
    let step = |s: &config::RaceStepConfig, which: &str| -> Result<RaceStep, UsageError> {
        let where_ = format!("{what}, {which}");
        let (method, path) = s
            .request
            .trim()
            .split_once(' ')
            .filter(|(m, p)| m.chars().all(|c| c.is_ascii_alphabetic()) && p.trim().starts_with('/'))
            .ok_or_else(|| UsageError::new(format!("{where_}: expected `METHOD /path`, got `{}`", s.request)))?;
        let capture: Vec<(String, String)> = s.capture.clone().unwrap_or_default().into_iter().collect();
        if let Some((name, pointer)) = capture.iter().find(|(_, p)| !p.starts_with('/')) {
            return Err(UsageError::new(format!(
                "{where_}: capture `{name}` = `{pointer}` must be a JSON pointer such as /id"
            )));
        }
        Ok(RaceStep {
            method: method.to_ascii_uppercase(),
            path: path.trim().to_string(),
            body: s.body.clone(),
            headers: s.headers.clone().unwrap_or_default().into_iter().collect(),
            capture,
        })
    };
    let setup = config
        .setup
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, s)| step(s, &format!("setup step {}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let state = match &config.state {
        Some(state) => {
            if !state.value.starts_with('/') {
                return Err(UsageError::new(format!(
                    "{what}, state: value `{}` must be a JSON pointer such as /balance",
                    state.value
                )));
            }
            let read = config::RaceStepConfig {
                request: state.request.clone(),
                headers: state.headers.clone(),
                ..Default::default()
            };
            Some(RaceState { read: step(&read, "state")?, pointer: state.value.clone() })
        }
        None => None,
    };
    if let Some(unique) = config.unique.as_deref().filter(|u| !u.starts_with('/')) {
        return Err(UsageError::new(format!("{what}: unique `{unique}` must be a JSON pointer such as /number")));
    }
    let fresh_client_cert = match &config.fresh_client_cert {
        Some(ca) => {
            let read = |path: &PathBuf| {
                std::fs::read(path).map_err(|e| {
                    UsageError::new(format!("{what}, fresh_client_cert: cannot read {}: {e}", path.display()))
                })
            };
            let source = ca.ca_cert.display().to_string();
            let key_source = ca.ca_key.display().to_string();
            let issuer = mortar_checks::issuer::ClientCertIssuer::from_pem(
                &read(&ca.ca_cert)?,
                &read(&ca.ca_key)?,
                &source,
                &key_source,
            )
            .map_err(|e| UsageError::new(format!("{what}, fresh_client_cert: {e}")))?;
            Some(std::sync::Arc::new(issuer))
        }
        None => None,
    };
    let rounds = set_rounds.or(config.rounds.map(|r| r as usize)).unwrap_or(default_rounds);
    if !(1..=100).contains(&rounds) {
        return Err(UsageError::new(format!("{what}: rounds must be from 1 to 100")));
    }
    Ok(RacePlan {
        name: config.name.clone(),
        setup,
        burst: {
            let steps = config.burst.items();
            if steps.is_empty() {
                return Err(UsageError::new(format!("{what}: `burst` needs a request")));
            }
            steps
                .iter()
                .enumerate()
                .map(|(i, s)| step(s, &format!("burst request {}", i + 1)))
                .collect::<Result<Vec<_>, _>>()?
        },
        success: crate::race::success_ranges(config.success.as_deref().unwrap_or("2xx"), &format!("{what}, success"))?,
        limit: config.limit.unwrap_or(1) as usize,
        rounds,
        identity: config.identity.clone(),
        fresh_client_cert,
        state,
        unique: config.unique.clone(),
    })
}

/// Finding ids of an earlier report.
fn load_baseline(path: &PathBuf) -> Result<BTreeSet<String>, UsageError> {
    let what = format!("--baseline {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| UsageError::new(format!("{what}: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| UsageError::new(format!("{what}: not a JSON report ({e})")))?;
    let findings = value
        .get("findings")
        .and_then(|f| f.as_array())
        .ok_or_else(|| UsageError::new(format!("{what}: not a mortar report (no findings array)")))?;
    Ok(findings.iter().filter_map(|f| f.get("id").and_then(|i| i.as_str()).map(str::to_string)).collect())
}

/// Why a scan could not produce a report (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Bad settings.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// Not one HTTP response from the target.
    #[error("no HTTP response from {url}: {detail}")]
    NoResponse {
        /// Target URL.
        url: String,
        /// What happened.
        detail: String,
    },
    /// Every identity given was refused.
    #[error("no identity is accepted by {url}: {detail} (check the credentials)")]
    NoIdentityAccepted {
        /// Target URL.
        url: String,
        /// Per identity.
        detail: String,
    },
    /// The engine could not be built (TLS material).
    #[error("cannot prepare the scan")]
    Engine(#[from] mortar_engine::EngineError),
}

/// The operations without an API description: the base path.
fn bare_operations(target: &Target) -> Vec<ScanOperation> {
    vec![ScanOperation::bare("GET", &target.base_path)]
}

/// The plan `--dry-run` prints.
pub fn plan_text(settings: &Settings) -> Result<String, UsageError> {
    let (run, skipped) =
        mortar_checks::plan(settings.profile, &settings.selection).map_err(|e| UsageError::new(e.to_string()))?;
    let mut out = String::new();
    out.push_str(&format!("target:     {}\nprofile:    {}\n", settings.target.url, settings.profile));
    out.push_str("identities:\n");
    if settings.identities.is_empty() {
        out.push_str("  (none: requests are anonymous)\n");
    }
    for id in &settings.identities {
        let headers: Vec<&str> = id.headers.iter().map(|h| h.name.as_str()).collect();
        let cert = if id.client_cert.is_some() { " + client certificate" } else { "" };
        out.push_str(&format!("  {}: headers [{}]{cert}\n", id.name, headers.join(", ")));
    }
    let mut learning = 0;
    let (target, operations) = match settings.spec.as_deref() {
        Some(spec) if crate::spec::is_url(spec) => {
            out.push_str(&format!("spec:       {spec} (a URL: not fetched in a dry run)\n"));
            (settings.target.clone(), bare_operations(&settings.target))
        }
        Some(spec) => {
            let api = crate::spec::load_file(spec)?;
            let target =
                mortar_spec::target_for(&api, &settings.target.url).map_err(|e| UsageError::new(e.to_string()))?;
            out.push_str(&format!(
                "spec:       {spec} ({} {}, {} operations, {} skipped)\n",
                api.title,
                api.api_version,
                api.operations.len(),
                api.skipped.len()
            ));
            let ops = crate::spec::operations(&api, &target, &mortar_spec::KnownValues::default());
            learning = crate::spec::learning_requests(&api);
            (target, ops)
        }
        None => {
            out.push_str("spec:       none given (the scan looks for one at the target)\n");
            (settings.target.clone(), bare_operations(&settings.target))
        }
    };
    out.push_str(&format!("base path:  {}\noperations ({}):\n", target.base_path, operations.len()));
    for op in &operations {
        let note = if op.is_safe() || settings.profile == Profile::Active {
            ""
        } else {
            "  (probed with OPTIONS: unsafe method)"
        };
        out.push_str(&format!("  {} {}{note}\n", op.endpoint.method, op.endpoint.path));
    }
    let who = settings.identities.len() + 1;
    let preflight = who;
    let sweep = operations.len() * who;
    let safe = operations.iter().filter(|o| o.is_safe()).count().max(1);
    out.push_str(&format!(
        "estimated requests: about {} (pre-flight {preflight}, learning ids {learning}, reachability {sweep} = {} operations x {who} identities incl. anonymous, checks up to {} = {} checks x {safe} safe operations x 3)\n",
        preflight + learning + sweep + 3 * safe * run.len(),
        operations.len(),
        3 * safe * run.len(),
        run.len()
    ));
    out.push_str(&format!("checks to run ({}):\n", run.len()));
    for c in &run {
        out.push_str(&format!("  {}\n", c.info.id));
    }
    out.push_str(&format!("checks skipped ({}):\n", skipped.len()));
    for s in &skipped {
        out.push_str(&format!("  {}: {}\n", s.check, s.reason.as_deref().unwrap_or("")));
    }
    Ok(out)
}

/// Runs a scan and returns its report (gates are applied by the caller).
/// Runs a scan: the report.
pub async fn execute(settings: &Settings) -> Result<Report, ScanError> {
    Ok(execute_with_sources(settings).await?.0)
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
            let (uri, relative) = if crate::spec::is_url(file) {
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

/// Runs a scan: the report, and where the description defines each operation.
pub async fn execute_with_sources(settings: &Settings) -> Result<(Report, Vec<SpecLocation>), ScanError> {
    let started_at =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let clock = Instant::now();
    let (run, skipped) =
        mortar_checks::plan(settings.profile, &settings.selection).map_err(|e| UsageError::new(e.to_string()))?;
    let mut scope_hosts = vec![settings.target.host.clone()];
    scope_hosts.extend(settings.scope_hosts.iter().map(|h| h.to_ascii_lowercase()));
    let engine_config = EngineConfig {
        concurrency: settings.pace.concurrency,
        rate: settings.pace.rate,
        timeout: settings.pace.timeout,
        deadline: Some(tokio::time::Instant::now() + settings.pace.max_time),
        max_requests: settings.pace.max_requests,
        scope_hosts,
        proxy: settings.proxy.clone(),
        tls: settings.tls.clone(),
        ..EngineConfig::default()
    };
    let engine = Engine::new(engine_config, &redaction_identities(settings))?;
    let mut spec_label = settings.spec.clone();
    let mut api = match settings.spec.as_deref() {
        Some(spec) if crate::spec::is_url(spec) => {
            Some(crate::spec::fetch(spec, &settings.tls, settings.pace.timeout).await?)
        }
        Some(spec) => Some(crate::spec::load_file(spec)?),
        None => None,
    };
    let target = match &api {
        Some(api) => mortar_spec::target_for(api, &settings.target.url).map_err(|e| UsageError::new(e.to_string()))?,
        None => settings.target.clone(),
    };
    let preflight = mortar_checks::preflight::preflight(&engine, &target, &settings.identities).await;
    if !preflight.any_response {
        let detail = preflight.checks.first().map(|c| c.detail.clone()).unwrap_or_default();
        return Err(ScanError::NoResponse { url: settings.target.url.clone(), detail });
    }
    let accepted = preflight.accepted(&settings.identities);
    if !settings.identities.is_empty() && accepted.is_empty() {
        let detail: Vec<String> =
            preflight.checks.iter().skip(1).map(|c| format!("{} ({})", c.name, c.detail)).collect();
        return Err(ScanError::NoIdentityAccepted { url: settings.target.url.clone(), detail: detail.join(", ") });
    }
    let mut notes = Vec::new();
    let mut target = target;
    if api.is_none()
        && let Some((url, found)) = crate::spec::discover(&engine, &target).await
    {
        notes.push(format!("API description discovered at {url} and used for the scan."));
        // Served by the API itself, its servers (resolved against where it was
        // found) say where its paths live, whatever path the target URL had.
        target.base_path = found.base_path.clone();
        spec_label = Some(url);
        api = Some(found);
    }
    let operations = match &api {
        Some(api) => {
            let known = crate::spec::learn(&engine, &target, api, accepted.first().cloned()).await;
            crate::spec::operations(api, &target, &known)
        }
        None => bare_operations(&target),
    };
    let skipped_operations = api.as_ref().map(crate::spec::skipped).unwrap_or_default();
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
            profile: settings.profile,
            framework: settings.framework,
            race_burst: settings.pace.race_burst,
            race_rounds: settings.pace.race_rounds,
            rate_burst: settings.pace.rate_burst,
            include_paths: settings.include_paths.clone(),
            exclude_paths: settings.exclude_paths.clone(),
            signed_sample: settings.signed_sample.clone(),
            race_plans: settings.race_plans.clone(),
            canary: mortar_checks::canary::CanaryPlan {
                listen: settings.canary_listen,
                advertised: settings.canary_url.clone(),
            },
        },
        accepted,
        operations,
        ReproduceContext { ca_cert: settings.ca_cert.as_ref().map(|p| p.display().to_string()) },
    ));
    let results = mortar_checks::run_checks(ctx.clone(), &run).await;
    let mut findings = results.findings;
    if let Some(baseline) = &settings.baseline {
        for f in &mut findings {
            if baseline.contains(&f.id) {
                f.status = FindingStatus::Unchanged;
            }
        }
    }
    let today = time::OffsetDateTime::now_utc().date();
    notes.extend(crate::suppress::apply(&mut findings, &settings.suppressions, today));
    let coverage = Coverage {
        checks: registry_order(results.coverage, skipped),
        identities: identity_coverage(&preflight, &ctx, &settings.identities),
        skipped_operations,
    };
    let rejected: Vec<String> =
        preflight.checks.iter().skip(1).filter(|c| !c.accepted).map(|c| format!("{} ({})", c.name, c.detail)).collect();
    if !rejected.is_empty() {
        notes.push(format!("Identities refused at pre-flight and not used: {}", rejected.join(", ")));
    }
    let stats = engine.stats();
    if stats.deadline_reached {
        notes.push("The scan deadline (--max-time) was reached: some checks are inconclusive.".into());
    }
    let sources = spec_locations(&ctx.operations);
    let report = Report::assemble(ReportParts {
        tool: Tool { name: "mortar".into(), version: env!("CARGO_PKG_VERSION").into() },
        target: TargetInfo { url: target.url.clone(), spec: spec_label },
        profile: settings.profile,
        started_at,
        duration_ms: clock.elapsed().as_millis() as u64,
        coverage,
        findings,
        stats,
        notes,
    });
    Ok((report, sources))
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
    settings_identities: &[Arc<Identity>],
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
                    .chain(settings_identities.iter())
                    .find(|i| i.name == p.name)
                    .map(|i| i.session.logins())
                    .unwrap_or(0),
                used_by: used.map(|u| u.used_by.clone()).unwrap_or_default(),
                operations_reached: used.map(|u| u.operations_reached.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

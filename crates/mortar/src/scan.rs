//! `mortar scan`: settings from the layers, pre-flight, checks, report, gates.

use crate::cli::ScanArgs;
use crate::config::{self, Layer};
use crate::error::UsageError;
use crate::identity;
use mortar_checks::{RacePlan, RaceState, RaceStep, Selection, SignedSample};
use mortar_engine::{ProxyConfig, TlsSettings};
use mortar_model::{Framework, Gates, Profile, Severity, Target};
use mortar_report::Format;
use mortar_scan::ScanOptions;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A `mortar scan` invocation, resolved: the scan's options (the library's)
/// and what the command does with the report.
#[derive(Debug)]
pub struct Settings {
    /// What to scan and how.
    pub options: ScanOptions,
    /// Main output format.
    pub format: Format,
    /// Main output file (stdout when `None`).
    pub output: Option<PathBuf>,
    /// Extra reports.
    pub reports: Vec<(Format, PathBuf)>,
    /// Gates.
    pub gates: Gates,
    /// Print the plan only.
    pub dry_run: bool,
}

fn parse_format(name: &str) -> Result<Format, UsageError> {
    name.parse::<Format>().map_err(|e| UsageError::new(e.to_string()))
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
    let format = parse_format(layer.format.as_deref().unwrap_or("summary"))?;
    let mut reports = Vec::new();
    for spec in layer.reports.iter().flatten() {
        let (name, file) =
            spec.split_once('=').ok_or_else(|| UsageError::new(format!("--report `{spec}`: expected FORMAT=FILE")))?;
        reports.push((parse_format(name)?, PathBuf::from(file)));
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
    let suppressions = mortar_scan::suppress::parse(layer.suppressions.as_deref().unwrap_or_default())?;
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
        options: ScanOptions {
            target,
            profile,
            pace,
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
            framework,
            spec: layer.spec.clone(),
            signed_sample,
            race_plans,
            canary_listen,
            canary_url: layer.canary_url.clone(),
            baseline,
            suppressions,
        },
        format,
        output: layer.output.clone(),
        reports,
        gates: Gates { threshold, fail_on },
        dry_run: args.dry_run,
    })
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

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
        .text("url")
        .ok_or_else(|| UsageError::new("no target URL: give one, e.g. `mortar scan https://api.example.com/`"))?;
    let target = Target::parse(&url).map_err(|e| UsageError::new(format!("target: {e}")))?;
    let profile = layer
        .text("profile")
        .as_deref()
        .map(str::parse::<Profile>)
        .transpose()
        .map_err(|e| UsageError::new(e.to_string()))?
        .unwrap_or(Profile::Standard);
    let pace = layer.pace()?;
    let format = parse_format(layer.text("format").as_deref().unwrap_or("summary"))?;
    let mut reports = Vec::new();
    for spec in layer.list("reports").unwrap_or_default() {
        let (name, file) =
            spec.split_once('=').ok_or_else(|| UsageError::new(format!("--report `{spec}`: expected FORMAT=FILE")))?;
        reports.push((parse_format(name)?, PathBuf::from(file)));
    }
    let threshold = match layer.integer("threshold") {
        Some(t) if (0..=100).contains(&t) => Some(t as u8),
        Some(t) => return Err(UsageError::new(format!("threshold: `{t}` is not from 0 to 100"))),
        None => None,
    };
    let fail_on = layer
        .text("fail_on")
        .as_deref()
        .map(str::parse::<Severity>)
        .transpose()
        .map_err(|e| UsageError::new(format!("fail-on: {e}")))?;
    let baseline = layer.path("baseline").as_ref().map(load_baseline).transpose()?;
    let suppressions = mortar_scan::suppress::parse(layer.suppressions.as_deref().unwrap_or_default())?;
    let ca_cert = layer.path("ca_cert");
    let ca_pem = match &ca_cert {
        Some(path) => vec![
            std::fs::read(path)
                .map_err(|e| UsageError::new(format!("--ca-cert: cannot read {}: {e}", path.display())))?,
        ],
        None => Vec::new(),
    };
    let proxy = layer.text("proxy").as_deref().map(ProxyConfig::parse).transpose().map_err(UsageError::new)?;
    let identities = identity::identities(args, file_identities.as_ref(), env)?;
    let framework = match layer.text("framework").map(|f| f.to_ascii_lowercase()).as_deref() {
        None | Some("auto") => None,
        Some("actix-web") | Some("actix") => Some(Framework::ActixWeb),
        Some("axum") => Some(Framework::Axum),
        Some(other) => {
            return Err(UsageError::new(format!("framework: `{other}` is not actix-web, axum or auto")));
        }
    };
    let signed_sample = match &layer.path("signed_sample") {
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
        .map(|p| race_plan(p, layer.integer("race_rounds").map(|r| r as usize), pace.race_rounds))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((plan, name)) = race_plans
        .iter()
        .find_map(|p| p.identity.as_ref().filter(|n| !identities.iter().any(|i| &i.name == *n)).map(|n| (p, n)))
    {
        return Err(UsageError::new(format!("race plan `{}`: no identity named `{name}`", plan.name)));
    }
    let canary_listen = match &layer.text("canary_listen") {
        Some(text) => Some(text.parse::<std::net::SocketAddr>().map_err(|_| {
            UsageError::new(format!("canary_listen: `{text}` is not an address and port like 127.0.0.1:8089"))
        })?),
        None => None,
    };
    let canary_url = layer.text("canary_url");
    if let Some(url) = &canary_url {
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
                checks: layer.list("checks").unwrap_or_default(),
                skip: layer.list("skip_checks").unwrap_or_default(),
            },
            tls: TlsSettings { ca_pem, strict: layer.switch("strict_tls").unwrap_or(false), only_given_roots: false },
            ca_cert,
            proxy,
            scope_hosts: layer.list("scope_hosts").unwrap_or_default(),
            include_paths: layer.list("include_paths").unwrap_or_default(),
            exclude_paths: layer.list("exclude_paths").unwrap_or_default(),
            framework,
            spec: layer.text("spec"),
            signed_sample,
            race_plans,
            canary_listen,
            canary_url,
            baseline,
            suppressions,
        },
        format,
        output: layer.path("output"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::OPTIONS;

    /// How each option is set in a test and how it shows in the settings.
    struct Case {
        /// The value as TOML in mortar.toml.
        toml: String,
        /// The value of `MORTAR_<NAME>`.
        env: String,
        /// The command-line arguments that set it.
        flags: Vec<String>,
        /// What the settings hold for it.
        seen: fn(&Settings) -> String,
        /// What they must hold.
        want: String,
    }

    fn case(toml: &str, env: &str, flags: &[&str], seen: fn(&Settings) -> String, want: &str) -> Case {
        Case {
            toml: toml.into(),
            env: env.into(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            seen,
            want: want.into(),
        }
    }

    fn cases(dir: &std::path::Path) -> BTreeMap<&'static str, Case> {
        let file = |name: &str, contents: &str| {
            let path = dir.join(name);
            std::fs::write(&path, contents).unwrap();
            path.display().to_string()
        };
        let baseline = file("baseline.json", r#"{"findings": [{"id": "f00d"}]}"#);
        let ca = file("ca.pem", "not checked until a connection is made");
        let sample = file("sample.http", "POST /orders HTTP/1.1\nHost: x\n\n{}");
        let q = |s: &str| format!("\"{s}\"");
        let mut all = BTreeMap::new();
        all.insert(
            "url",
            case(
                &q("http://127.0.0.1:9/a"),
                "http://127.0.0.1:9/a",
                &["http://127.0.0.1:9/a"],
                |s| s.options.target.url.clone(),
                "http://127.0.0.1:9/a",
            ),
        );
        all.insert(
            "spec",
            case(
                &q("/tmp/x.yaml"),
                "/tmp/x.yaml",
                &["--spec", "/tmp/x.yaml"],
                |s| format!("{:?}", s.options.spec),
                "Some(\"/tmp/x.yaml\")",
            ),
        );
        all.insert(
            "profile",
            case(&q("active"), "active", &["--profile", "active"], |s| s.options.profile.to_string(), "active"),
        );
        all.insert(
            "framework",
            case(&q("axum"), "axum", &["--framework", "axum"], |s| format!("{:?}", s.options.framework), "Some(Axum)"),
        );
        all.insert(
            "signed_sample",
            case(
                &q(&sample),
                &sample,
                &["--signed-sample", &sample],
                |s| format!("{:?}", s.options.signed_sample.as_ref().map(|x| x.target.clone())),
                "Some(\"/orders\")",
            ),
        );
        all.insert(
            "format",
            case(&q("sarif"), "sarif", &["--format", "sarif"], |s| format!("{:?}", s.format), "Sarif"),
        );
        all.insert(
            "output",
            case(
                &q("/tmp/out.txt"),
                "/tmp/out.txt",
                &["--output", "/tmp/out.txt"],
                |s| format!("{:?}", s.output),
                "Some(\"/tmp/out.txt\")",
            ),
        );
        all.insert(
            "reports",
            case(
                "[\"json=/tmp/r.json\"]",
                "json=/tmp/r.json",
                &["--report", "json=/tmp/r.json"],
                |s| format!("{:?}", s.reports),
                "[(Json, \"/tmp/r.json\")]",
            ),
        );
        all.insert(
            "threshold",
            case("77", "77", &["--threshold", "77"], |s| format!("{:?}", s.gates.threshold), "Some(77)"),
        );
        all.insert(
            "fail_on",
            case(
                &q("medium"),
                "medium",
                &["--fail-on", "medium"],
                |s| format!("{:?}", s.gates.fail_on),
                "Some(Medium)",
            ),
        );
        all.insert(
            "baseline",
            case(
                &q(&baseline),
                &baseline,
                &["--baseline", &baseline],
                |s| format!("{:?}", s.options.baseline),
                "Some({\"f00d\"})",
            ),
        );
        all.insert(
            "rate",
            case("7.5", "7.5", &["--rate", "7.5"], |s| format!("{:?}", s.options.pace.rate), "Some(7.5)"),
        );
        all.insert(
            "concurrency",
            case("3", "3", &["--concurrency", "3"], |s| s.options.pace.concurrency.to_string(), "3"),
        );
        all.insert(
            "timeout",
            case(&q("750ms"), "750ms", &["--timeout", "750ms"], |s| format!("{:?}", s.options.pace.timeout), "750ms"),
        );
        all.insert(
            "max_time",
            case(&q("42s"), "42s", &["--max-time", "42s"], |s| format!("{:?}", s.options.pace.max_time), "42s"),
        );
        all.insert(
            "max_requests",
            case(
                "999",
                "999",
                &["--max-requests", "999"],
                |s| format!("{:?}", s.options.pace.max_requests),
                "Some(999)",
            ),
        );
        all.insert(
            "race_burst",
            case("30", "30", &["--race-burst", "30"], |s| s.options.pace.race_burst.to_string(), "30"),
        );
        all.insert(
            "race_rounds",
            case("9", "9", &["--race-rounds", "9"], |s| s.options.pace.race_rounds.to_string(), "9"),
        );
        all.insert(
            "rate_burst",
            case("25", "25", &["--rate-burst", "25"], |s| s.options.pace.rate_burst.to_string(), "25"),
        );
        all.insert(
            "canary_listen",
            case(
                &q("127.0.0.1:8089"),
                "127.0.0.1:8089",
                &["--canary-listen", "127.0.0.1:8089"],
                |s| format!("{:?}", s.options.canary_listen),
                "Some(127.0.0.1:8089)",
            ),
        );
        // canary_url needs canary_listen: every layer gives both, see below.
        all.insert(
            "canary_url",
            case(
                &q("http://scanner.test:8089"),
                "http://scanner.test:8089",
                &["--canary-url", "http://scanner.test:8089"],
                |s| format!("{:?}", s.options.canary_url),
                "Some(\"http://scanner.test:8089\")",
            ),
        );
        all.insert(
            "scope_hosts",
            case(
                "[\"a.test\", \"b.test\"]",
                "a.test,b.test",
                &["--scope-host", "a.test", "--scope-host", "b.test"],
                |s| format!("{:?}", s.options.scope_hosts),
                "[\"a.test\", \"b.test\"]",
            ),
        );
        all.insert(
            "include_paths",
            case(
                "[\"/api/*\"]",
                "/api/*",
                &["--include-path", "/api/*"],
                |s| format!("{:?}", s.options.include_paths),
                "[\"/api/*\"]",
            ),
        );
        all.insert(
            "exclude_paths",
            case(
                "[\"/admin*\"]",
                "/admin*",
                &["--exclude-path", "/admin*"],
                |s| format!("{:?}", s.options.exclude_paths),
                "[\"/admin*\"]",
            ),
        );
        all.insert(
            "proxy",
            case(
                &q("http://127.0.0.1:3128"),
                "http://127.0.0.1:3128",
                &["--proxy", "http://127.0.0.1:3128"],
                |s| format!("{}", s.options.proxy.is_some()),
                "true",
            ),
        );
        all.insert(
            "ca_cert",
            case(
                &q(&ca),
                &ca,
                &["--ca-cert", &ca],
                |s| format!("{} {}", s.options.ca_cert.is_some(), s.options.tls.ca_pem.len()),
                "true 1",
            ),
        );
        all.insert("strict_tls", case("true", "true", &["--strict-tls"], |s| s.options.tls.strict.to_string(), "true"));
        all.insert(
            "checks",
            case(
                "[\"inventory\", \"bola.*\"]",
                "inventory,bola.*",
                &["--checks", "inventory,bola.*"],
                |s| format!("{:?}", s.options.selection.checks),
                "[\"inventory\", \"bola.*\"]",
            ),
        );
        all.insert(
            "skip_checks",
            case(
                "[\"inventory.spec-exposed\"]",
                "inventory.spec-exposed",
                &["--skip-checks", "inventory.spec-exposed"],
                |s| format!("{:?}", s.options.selection.skip),
                "[\"inventory.spec-exposed\"]",
            ),
        );
        all
    }

    fn resolve_with(file: Option<&str>, env: &[(String, String)], flags: &[String]) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let mut argv = vec!["mortar".to_string(), "scan".to_string()];
        if let Some(text) = file {
            let path = dir.path().join("mortar.toml");
            std::fs::write(&path, text).unwrap();
            argv.extend(["--config".to_string(), path.display().to_string()]);
        }
        argv.extend(flags.iter().cloned());
        let args = match <crate::cli::Cli as clap::Parser>::try_parse_from(&argv) {
            Ok(crate::cli::Cli { command: crate::cli::Command::Scan(args), .. }) => args,
            other => panic!("{argv:?}: {other:?}"),
        };
        resolve(&args, &env.iter().cloned().collect()).unwrap_or_else(|e| panic!("{argv:?} {env:?}: {e}"))
    }

    /// Every option of the table reaches the scan's settings from each layer
    /// on its own (the lost `--framework` was a missing line in one layer).
    #[test]
    fn every_option_survives_every_layer() {
        let dir = tempfile::tempdir().unwrap();
        let cases = cases(dir.path());
        let names: Vec<&str> = OPTIONS.iter().map(|o| o.name).collect();
        assert_eq!(
            cases.keys().copied().collect::<Vec<_>>(),
            {
                let mut sorted = names.clone();
                sorted.sort();
                sorted
            },
            "every option needs a case here"
        );
        let url = "http://127.0.0.1:9/";
        for option in OPTIONS {
            let c = &cases[option.name];
            // The URL is required and canary_url needs canary_listen: give those by flag unless under test.
            let mut flags_besides: Vec<String> = Vec::new();
            if option.name != "url" {
                flags_besides.push(url.to_string());
            }
            if option.name == "canary_url" {
                flags_besides.extend(["--canary-listen".to_string(), "127.0.0.1:8089".to_string()]);
            }
            let from_file = resolve_with(Some(&format!("{} = {}\n", option.name, c.toml)), &[], &flags_besides);
            let from_env = resolve_with(None, &[(option.env_var(), c.env.clone())], &flags_besides);
            let mut flags = flags_besides.clone();
            flags.extend(c.flags.iter().cloned());
            let from_flags = resolve_with(None, &[], &flags);
            for (layer, settings) in [("file", &from_file), ("environment", &from_env), ("flags", &from_flags)] {
                assert_eq!((c.seen)(settings), c.want, "{} from the {layer}", option.name);
            }
            let default = resolve_with(None, &[], &[url.to_string()]);
            if option.name != "url" {
                assert_ne!((c.seen)(&default), c.want, "{}: the test value must differ from the default", option.name);
            }
        }
    }

    /// Flags win over the environment, which wins over the file.
    #[test]
    fn flags_win_over_environment_over_file() {
        let env =
            [("MORTAR_PROFILE".to_string(), "standard".to_string()), ("MORTAR_RATE".to_string(), "2".to_string())];
        let settings = resolve_with(
            Some("profile = \"passive\"\nrate = 1\nconcurrency = 4\n"),
            &env,
            &["http://127.0.0.1:9/".into(), "--profile".into(), "active".into()],
        );
        assert_eq!(settings.options.profile, Profile::Active);
        assert_eq!(settings.options.pace.rate, Some(2.0));
        assert_eq!(settings.options.pace.concurrency, 4);
    }

    /// The options part of mortar.example.toml is what the table generates.
    #[test]
    fn the_example_config_shows_every_option() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mortar.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let begin = text.find(crate::options::EXAMPLE_BEGIN).expect("begin marker");
        let end = text.find(crate::options::EXAMPLE_END).expect("end marker");
        let generated = crate::options::example_options();
        let current = &text[begin + crate::options::EXAMPLE_BEGIN.len() + 1..end];
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() && current != generated {
            let updated =
                format!("{}\n{generated}{}", &text[..begin + crate::options::EXAMPLE_BEGIN.len()], &text[end..]);
            std::fs::write(&path, updated).unwrap();
            return;
        }
        assert_eq!(current, generated, "mortar.example.toml is stale: run the tests with UPDATE_SNAPSHOTS=1");
        for option in OPTIONS {
            assert!(current.contains(&format!("{} =", option.name)), "{}", option.name);
        }
    }
}

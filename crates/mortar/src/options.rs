//! The options of `mortar scan`, declared once. Each row gives the name (the
//! mortar.toml key; `MORTAR_<NAME>` in the environment), the flag, the kind
//! of value with its bounds, the default, and the help text. The table
//! drives the command-line flags and `--help`, the environment and file
//! layers with their validation, and the options part of the committed
//! example configuration; adding an option is one row here and one line where
//! `crate::scan::resolve` turns it into the scan's settings.

use crate::error::UsageError;
use clap::{Arg, ArgAction, ArgMatches};
use std::collections::BTreeMap;

/// What kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Free text (a URL, a name); `choices` lists the accepted words, if any.
    Text {
        /// Accepted values (case-insensitive), or empty for any.
        choices: &'static [&'static str],
    },
    /// A file path; relative paths in mortar.toml are relative to that file.
    Path,
    /// A file path or a URL (a URL is left alone when rebasing).
    PathOrUrl,
    /// A whole number within bounds.
    Integer {
        /// Smallest accepted.
        min: i64,
        /// Largest accepted.
        max: i64,
    },
    /// A number, 0 or more.
    Number,
    /// On or off; on the command line a flag without value.
    Switch,
    /// `10s`, `500ms`, `5m`; a bare number is seconds.
    Duration,
    /// Several texts: the flag is repeated (or comma-separated when `commas`),
    /// the environment variable comma-separated, the file key an array.
    List {
        /// The flag also splits its value on commas.
        commas: bool,
    },
}

/// One option of `mortar scan`.
#[derive(Debug, Clone, Copy)]
pub struct ScanOption {
    /// mortar.toml key; `MORTAR_<NAME>` upper-cased in the environment.
    pub name: &'static str,
    /// Long flag without `--`; empty for the positional URL.
    pub flag: &'static str,
    /// A one-letter flag, if any.
    pub short: Option<char>,
    /// Placeholder in `--help`.
    pub value_name: &'static str,
    /// Kind of value.
    pub kind: Kind,
    /// The built-in default as TOML text (shown in `--help` and the example config).
    pub default: Option<&'static str>,
    /// A value for the example configuration when there is no default.
    pub example: Option<&'static str>,
    /// The section of the example configuration it belongs to.
    pub group: &'static str,
    /// Help text.
    pub doc: &'static str,
}

impl ScanOption {
    /// Its environment variable.
    pub fn env_var(&self) -> String {
        format!("MORTAR_{}", self.name.to_ascii_uppercase())
    }

    /// The help text with the default appended.
    fn help(&self) -> String {
        // clap's derive drops a doc comment's final period; so does the table.
        let doc = self.doc.strip_suffix('.').unwrap_or(self.doc);
        match self.default {
            Some(d) => format!("{doc} [default: {}]", d.trim_matches('"')),
            None => doc.to_string(),
        }
    }

    /// The clap argument for it.
    fn arg(&self) -> Arg {
        let mut arg = Arg::new(self.name).help(self.help()).value_name(self.value_name);
        if self.flag.is_empty() {
            return arg.index(1).required(false).action(ArgAction::Set);
        }
        arg = arg.long(self.flag);
        if let Some(c) = self.short {
            arg = arg.short(c);
        }
        match self.kind {
            Kind::Switch => arg.action(ArgAction::SetTrue),
            Kind::List { commas } => {
                let arg = arg.action(ArgAction::Append);
                if commas { arg.value_delimiter(',') } else { arg }
            }
            // The same words as a file or environment value out of range.
            Kind::Integer { min, max } => {
                arg.action(ArgAction::Set).value_parser(move |text: &str| match text.parse::<i64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    Ok(_) => Err(format!("not from {min} to {max}")),
                    Err(_) => Err("not a whole number".to_string()),
                })
            }
            _ => arg.action(ArgAction::Set),
        }
    }

    /// Checks a value from a file or the environment and gives it its kind's
    /// TOML type; `what` names where it came from.
    pub fn check(&self, value: toml::Value, what: &str) -> Result<toml::Value, UsageError> {
        let bad = |expected: &str| UsageError::new(format!("{what}: `{}` is not {expected}", show(&value)));
        Ok(match self.kind {
            Kind::Text { choices } => {
                let toml::Value::String(text) = &value else { return Err(bad("text")) };
                if !choices.is_empty() && !choices.iter().any(|c| c.eq_ignore_ascii_case(text)) {
                    return Err(bad(&format!("one of {}", choices.join(", "))));
                }
                value
            }
            Kind::Path | Kind::PathOrUrl => match value {
                toml::Value::String(_) => value,
                _ => return Err(bad("a path")),
            },
            Kind::Integer { min, max } => match value {
                toml::Value::Integer(n) if (min..=max).contains(&n) => value,
                toml::Value::Integer(_) => return Err(bad(&format!("from {min} to {max}"))),
                _ => return Err(bad("a whole number")),
            },
            Kind::Number => match value {
                toml::Value::Integer(n) if n >= 0 => toml::Value::Float(n as f64),
                toml::Value::Float(f) if f >= 0.0 && f.is_finite() => value,
                _ => return Err(bad("a number, 0 or more")),
            },
            Kind::Switch => match value {
                toml::Value::Boolean(_) => value,
                _ => return Err(bad("true or false")),
            },
            Kind::Duration => {
                let parsed = match &value {
                    toml::Value::String(t) => {
                        crate::config::parse_duration(t).map_err(|e| UsageError::new(format!("{what}: {e}")))?
                    }
                    toml::Value::Integer(n) if *n >= 0 => std::time::Duration::from_secs(*n as u64),
                    toml::Value::Float(f) if *f >= 0.0 && f.is_finite() => std::time::Duration::from_secs_f64(*f),
                    _ => return Err(bad("a duration (10s, 500ms, 5m)")),
                };
                if parsed.is_zero() {
                    return Err(UsageError::new(format!("{what}: must be longer than zero")));
                }
                value
            }
            Kind::List { .. } => match value {
                toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => toml::Value::Array(items),
                _ => return Err(bad("a list of texts")),
            },
        })
    }

    /// The value of an environment variable, typed as in the file.
    pub fn parse_env(&self, raw: &str) -> Result<toml::Value, UsageError> {
        let what = self.env_var();
        let bad = |expected: &str| UsageError::new(format!("{what}: `{raw}` is not {expected}"));
        let value = match self.kind {
            Kind::Text { .. } | Kind::Path | Kind::PathOrUrl | Kind::Duration => toml::Value::String(raw.to_string()),
            Kind::Integer { .. } => toml::Value::Integer(raw.trim().parse().map_err(|_| bad("a whole number"))?),
            Kind::Number => toml::Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?),
            Kind::Switch => toml::Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" | "" => false,
                _ => return Err(bad("true or false")),
            }),
            Kind::List { .. } => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.into()))
                    .collect(),
            ),
        };
        self.check(value, &what)
    }

    /// The value given on the command line, if any.
    fn given_in(&self, matches: &ArgMatches) -> Result<Option<toml::Value>, UsageError> {
        let what = if self.flag.is_empty() { "the target URL".to_string() } else { format!("--{}", self.flag) };
        let value = match self.kind {
            Kind::Switch => matches.get_flag(self.name).then_some(toml::Value::Boolean(true)),
            Kind::List { .. } => matches
                .get_many::<String>(self.name)
                .map(|values| toml::Value::Array(values.map(|v| toml::Value::String(v.clone())).collect())),
            Kind::Integer { .. } => matches.get_one::<i64>(self.name).map(|n| toml::Value::Integer(*n)),
            Kind::Number => match matches.get_one::<String>(self.name) {
                Some(text) => Some(toml::Value::Float(
                    text.trim().parse().map_err(|_| UsageError::new(format!("{what}: `{text}` is not a number")))?,
                )),
                None => None,
            },
            _ => matches.get_one::<String>(self.name).map(|t| toml::Value::String(t.clone())),
        };
        value.map(|v| self.check(v, &what)).transpose()
    }
}

fn show(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

const fn opt(
    name: &'static str,
    flag: &'static str,
    value_name: &'static str,
    kind: Kind,
    group: &'static str,
    doc: &'static str,
) -> ScanOption {
    ScanOption { name, flag, short: None, value_name, kind, default: None, example: None, group, doc }
}

const ANY: Kind = Kind::Text { choices: &[] };
const TARGET: &str = "Target";
const OUTPUT: &str = "Output";
const GATES: &str = "Gates (exit 1 when one fails)";
const PACE: &str = "Pace and reach";
const TLS: &str = "TLS";
const CHECKS: &str = "Checks";

/// Every option of `mortar scan` that mortar.toml, `MORTAR_*` and flags all
/// take (identities, suppressions and race plans are tables of their own).
pub static OPTIONS: &[ScanOption] = &[
    ScanOption {
        example: Some("\"https://127.0.0.1:8443/api/\""),
        ..opt("url", "", "URL", ANY, TARGET, "Base URL of the API (http:// or https://).")
    },
    ScanOption {
        example: Some("\"openapi.yaml\""),
        ..opt(
            "spec",
            "spec",
            "FILE|URL",
            Kind::PathOrUrl,
            TARGET,
            "OpenAPI description (2.0, 3.0, 3.1; JSON or YAML), file or URL; without it the scan looks for one.",
        )
    },
    ScanOption {
        default: Some("\"standard\""),
        ..opt(
            "profile",
            "profile",
            "PROFILE",
            Kind::Text { choices: &["passive", "standard", "active"] },
            TARGET,
            "passive | standard | active.",
        )
    },
    ScanOption {
        default: Some("\"auto\""),
        ..opt(
            "framework",
            "framework",
            "NAME",
            Kind::Text { choices: &["auto", "actix-web", "actix", "axum"] },
            TARGET,
            "The framework behind the API, for remediation: actix-web, axum or auto (detected).",
        )
    },
    ScanOption {
        example: Some("\"signed-request.http\""),
        ..opt(
            "signed_sample",
            "signed-sample",
            "FILE",
            Kind::Path,
            TARGET,
            "One captured, valid, signed request (raw HTTP): the request-signing checks run every probe that needs \
             no new signature from it, without the secret.",
        )
    },
    ScanOption {
        default: Some("\"summary\""),
        ..opt(
            "format",
            "format",
            "FORMAT",
            // Checked by the report renderer's own parser, which names every format.
            ANY,
            OUTPUT,
            "summary | json | sarif | junit | markdown | html.",
        )
    },
    ScanOption {
        short: Some('o'),
        example: Some("\"report.txt\""),
        ..opt("output", "output", "FILE", Kind::Path, OUTPUT, "Write the report here instead of stdout.")
    },
    ScanOption {
        example: Some("[\"json=mortar-report.json\"]"),
        ..opt(
            "reports",
            "report",
            "FORMAT=FILE",
            Kind::List { commas: false },
            OUTPUT,
            "Also write FORMAT to FILE (repeatable), e.g. json=report.json.",
        )
    },
    ScanOption {
        example: Some("80"),
        ..opt(
            "threshold",
            "threshold",
            "N",
            Kind::Integer { min: 0, max: 100 },
            GATES,
            "Fail (exit 1) when the gated score is below N (0-100).",
        )
    },
    ScanOption {
        example: Some("\"high\""),
        ..opt(
            "fail_on",
            "fail-on",
            "SEVERITY",
            Kind::Text { choices: &["critical", "high", "medium", "low", "info"] },
            GATES,
            "Fail (exit 1) on any gated finding at or above this severity (critical, high, medium, low, info).",
        )
    },
    ScanOption {
        example: Some("\"previous-report.json\""),
        ..opt(
            "baseline",
            "baseline",
            "REPORT.json",
            Kind::Path,
            GATES,
            "Earlier JSON report: gates apply only to findings not in it.",
        )
    },
    ScanOption {
        default: Some("50"),
        ..opt("rate", "rate", "N", Kind::Number, PACE, "Requests per second; 0 means unlimited.")
    },
    ScanOption {
        default: Some("8"),
        ..opt(
            "concurrency",
            "concurrency",
            "N",
            Kind::Integer { min: 1, max: 1024 },
            PACE,
            "Requests in flight at once (1-1024).",
        )
    },
    ScanOption {
        default: Some("\"10s\""),
        ..opt(
            "timeout",
            "timeout",
            "DURATION",
            Kind::Duration,
            PACE,
            "Per-request timeout, e.g. 10s or 500ms; a bare number is seconds.",
        )
    },
    ScanOption {
        default: Some("\"5m\""),
        ..opt(
            "max_time",
            "max-time",
            "DURATION",
            Kind::Duration,
            PACE,
            "Whole-scan deadline; findings so far are kept.",
        )
    },
    ScanOption {
        example: Some("5000"),
        ..opt(
            "max_requests",
            "max-requests",
            "N",
            Kind::Integer { min: 1, max: i64::MAX },
            PACE,
            "Most requests the scan may send [default: no limit].",
        )
    },
    ScanOption {
        default: Some("20"),
        ..opt(
            "race_burst",
            "race-burst",
            "N",
            Kind::Integer { min: 2, max: 1000 },
            PACE,
            "Requests in one synchronized burst, not capped by --concurrency (2-1000).",
        )
    },
    ScanOption {
        default: Some("3"),
        ..opt(
            "race_rounds",
            "race-rounds",
            "N",
            Kind::Integer { min: 1, max: 100 },
            PACE,
            "Rounds per race candidate, each a control and a burst on fresh resources; overrides a plan's `rounds` \
             (1-100).",
        )
    },
    ScanOption {
        default: Some("15"),
        ..opt(
            "rate_burst",
            "rate-burst",
            "N",
            Kind::Integer { min: 2, max: 200 },
            PACE,
            "Requests sent to a sign-in, reset, one-time-code or search operation to look for a rate limit (2-200).",
        )
    },
    ScanOption {
        example: Some("\"0.0.0.0:8089\""),
        ..opt(
            "canary_listen",
            "canary-listen",
            "ADDR",
            ANY,
            PACE,
            "Where the SSRF canary listens, e.g. 0.0.0.0:8089 [default: an ephemeral loopback port when the target \
             is on loopback; otherwise SSRF is not tested].",
        )
    },
    ScanOption {
        example: Some("\"http://scanner.internal:8089\""),
        ..opt(
            "canary_url",
            "canary-url",
            "URL",
            ANY,
            PACE,
            "The canary's base URL as the target reaches it, when it is not the listen address.",
        )
    },
    ScanOption {
        default: Some("[]"),
        ..opt(
            "scope_hosts",
            "scope-host",
            "HOST",
            Kind::List { commas: false },
            PACE,
            "Another host that may be contacted (repeatable).",
        )
    },
    ScanOption {
        example: Some("[\"/api/*\"]"),
        ..opt(
            "include_paths",
            "include-path",
            "GLOB",
            Kind::List { commas: false },
            PACE,
            "Only paths matching this glob (repeatable).",
        )
    },
    ScanOption {
        example: Some("[\"/api/admin/danger*\"]"),
        ..opt(
            "exclude_paths",
            "exclude-path",
            "GLOB",
            Kind::List { commas: false },
            PACE,
            "Never paths matching this glob (repeatable).",
        )
    },
    ScanOption {
        example: Some("\"http://127.0.0.1:8080\""),
        ..opt(
            "proxy",
            "proxy",
            "URL",
            ANY,
            PACE,
            "HTTP proxy (http://host:port). Environment proxies are ignored unless given here.",
        )
    },
    ScanOption {
        example: Some("\"lab-ca.pem\""),
        ..opt(
            "ca_cert",
            "ca-cert",
            "FILE",
            Kind::Path,
            TLS,
            "Trust this CA (PEM) for the target, in addition to the public roots.",
        )
    },
    ScanOption {
        default: Some("false"),
        ..opt(
            "strict_tls",
            "strict-tls",
            "",
            Kind::Switch,
            TLS,
            "Fail on an untrusted server certificate instead of reporting it.",
        )
    },
    ScanOption {
        example: Some("[\"misconfiguration\", \"inventory.*\"]"),
        ..opt(
            "checks",
            "checks",
            "IDS",
            Kind::List { commas: true },
            CHECKS,
            "Only these checks: ids, categories or globs (comma-separated or repeated).",
        )
    },
    ScanOption {
        example: Some("[\"inventory.version-disclosure\"]"),
        ..opt(
            "skip_checks",
            "skip-checks",
            "IDS",
            Kind::List { commas: true },
            CHECKS,
            "Never these checks: ids, categories or globs.",
        )
    },
];

/// The option named `name`.
pub fn find(name: &str) -> Option<&'static ScanOption> {
    OPTIONS.iter().find(|o| o.name == name)
}

/// Option values by name, as one layer gives them (typed as TOML values).
pub type Values = BTreeMap<&'static str, toml::Value>;

/// The table's options on the command line: flags (and the positional URL)
/// built from [`OPTIONS`], parsed back into [`Values`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionFlags(pub Values);

impl clap::FromArgMatches for OptionFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut values = Values::new();
        for option in OPTIONS {
            let value = option
                .given_in(matches)
                .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n")))?;
            if let Some(value) = value {
                values.insert(option.name, value);
            }
        }
        Ok(OptionFlags(values))
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for OptionFlags {
    fn augment_args(command: clap::Command) -> clap::Command {
        OPTIONS.iter().fold(command, |command, option| command.arg(option.arg()))
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

/// The options part of the example configuration, generated from the table
/// (the committed `mortar.example.toml` holds it between markers; a test
/// keeps it current).
pub fn example_options() -> String {
    let mut out = String::new();
    let mut group = "";
    for option in OPTIONS {
        if option.group != group {
            group = option.group;
            out.push_str(&format!("\n# {group}\n"));
        }
        let env = option.env_var();
        let flag = if option.flag.is_empty() { "the URL argument".to_string() } else { format!("--{}", option.flag) };
        out.push_str(&format!("# {} ({flag}, {env})\n", option.doc));
        match (option.default, option.example) {
            (Some(default), _) => out.push_str(&format!("{} = {default}\n", option.name)),
            (None, Some(example)) => out.push_str(&format!("# {} = {example}\n", option.name)),
            (None, None) => out.push_str(&format!("# {} =\n", option.name)),
        }
    }
    out
}

/// Where the generated part of the example configuration starts and ends.
pub const EXAMPLE_BEGIN: &str = "# --- options: generated from crates/mortar/src/options.rs (OPTIONS) ---";
/// See [`EXAMPLE_BEGIN`].
pub const EXAMPLE_END: &str = "# --- end of generated options ---";

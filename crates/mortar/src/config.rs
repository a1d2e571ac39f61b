//! Layered configuration: built-in defaults, then mortar.toml, then `MORTAR_*`
//! environment variables, then flags. Unknown keys are errors, by name.

use crate::cli::ScanArgs;
use crate::error::UsageError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A duration as written in mortar.toml: seconds as a number, or text like `10s`, `500ms`, `5m`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DurationValue {
    /// Seconds.
    Seconds(f64),
    /// Human text.
    Text(String),
}

impl DurationValue {
    fn resolve(&self, key: &str) -> Result<Duration, UsageError> {
        match self {
            DurationValue::Seconds(s) if *s >= 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(*s)),
            DurationValue::Seconds(s) => Err(UsageError::new(format!("{key}: `{s}` is not a duration"))),
            DurationValue::Text(t) => parse_duration(t).map_err(|e| UsageError::new(format!("{key}: {e}"))),
        }
    }
}

/// Parses `10`, `2.5`, `10s`, `500ms`, `5m`, `1h 30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>()
        && secs >= 0.0
        && secs.is_finite()
    {
        return Ok(Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(t).map_err(|_| format!("`{text}` is not a duration (try 10s, 500ms or 5m)"))
}

/// One identity in mortar.toml (`[identities.NAME]`).
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Headers: name = value (`@file` and `env:VAR` allowed).
    pub headers: Option<BTreeMap<String, String>>,
    /// Client certificate chain (PEM).
    pub cert: Option<PathBuf>,
    /// Client key (PEM).
    pub key: Option<PathBuf>,
    /// May be used for rate-limit bursts and lock-out probes.
    pub expendable: Option<bool>,
    /// Its credential is revoked: the server must refuse it (mTLS checks).
    pub revoked: Option<bool>,
    /// `admin` or `user`: which identity administrative operations must refuse (bfla checks).
    pub role: Option<String>,
    /// Request signing (HMAC): the scheme and where its secret is.
    pub signing: Option<mortar_signing::SigningConfig>,
    /// Login recipe that obtains (and refreshes) a token.
    pub login: Option<LoginConfig>,
}

/// `[identities.NAME.login]`: how to obtain a token at scan time.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// The login request, `METHOD /path` (on the target's origin).
    pub request: String,
    /// Its headers (`@file` and `env:VAR` allowed).
    pub headers: Option<BTreeMap<String, String>>,
    /// Its body (`@file` and `env:VAR` allowed: it holds the password).
    pub body: Option<String>,
    /// The token is at this JSON pointer in the response body, e.g. `/access_token`.
    pub token_json: Option<String>,
    /// The token is this response header.
    pub token_header: Option<String>,
    /// The token is this cookie.
    pub token_cookie: Option<String>,
    /// The header the token is sent in [default: Authorization].
    pub header: Option<String>,
    /// Text before the token in that header [default: `Bearer ` for Authorization, none otherwise].
    pub prefix: Option<String>,
    /// `METHOD /path` that answers 2xx while the session is alive; a 401 elsewhere
    /// triggers it, and only its failure triggers a new login.
    pub liveness: Option<String>,
}

/// Every option of `mortar scan`, each optional: one layer of the configuration.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Base URL.
    pub url: Option<String>,
    /// OpenAPI description.
    pub spec: Option<String>,
    /// passive, standard, active.
    pub profile: Option<String>,
    /// Output format.
    pub format: Option<String>,
    /// Output file.
    pub output: Option<PathBuf>,
    /// Extra reports, `FORMAT=FILE`.
    pub reports: Option<Vec<String>>,
    /// Score gate.
    pub threshold: Option<i64>,
    /// Severity gate.
    pub fail_on: Option<String>,
    /// Baseline report.
    pub baseline: Option<PathBuf>,
    /// Requests per second (0: unlimited).
    pub rate: Option<f64>,
    /// Requests in flight.
    pub concurrency: Option<u32>,
    /// Per-request timeout.
    pub timeout: Option<DurationValue>,
    /// Whole-scan deadline.
    pub max_time: Option<DurationValue>,
    /// Request budget.
    pub max_requests: Option<u64>,
    /// Burst size.
    pub race_burst: Option<u32>,
    /// Rounds per race candidate.
    pub race_rounds: Option<u32>,
    /// Requests in a rate-limit probe.
    pub rate_burst: Option<u32>,
    /// Where the SSRF canary listens.
    pub canary_listen: Option<String>,
    /// The canary's URL as the target reaches it.
    pub canary_url: Option<String>,
    /// More hosts in scope.
    pub scope_hosts: Option<Vec<String>>,
    /// Path globs to include.
    pub include_paths: Option<Vec<String>>,
    /// Path globs to exclude.
    pub exclude_paths: Option<Vec<String>>,
    /// Checks to run.
    pub checks: Option<Vec<String>>,
    /// Checks to skip.
    pub skip_checks: Option<Vec<String>>,
    /// HTTP proxy.
    pub proxy: Option<String>,
    /// Extra CA.
    pub ca_cert: Option<PathBuf>,
    /// Untrusted certificates are errors.
    pub strict_tls: Option<bool>,
    /// actix-web, axum or auto.
    pub framework: Option<String>,
    /// A captured signed request (raw HTTP).
    pub signed_sample: Option<PathBuf>,
    /// Named identities.
    pub identities: Option<BTreeMap<String, IdentityConfig>>,
    /// Accepted findings (`[[suppressions]]`, file only).
    pub suppressions: Option<Vec<mortar_scan::suppress::SuppressionConfig>>,
    /// Race plans (`[[race]]`, file only).
    pub race: Option<Vec<RacePlanConfig>>,
}

/// `[[race]]`: how to race one limited action of this API.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RacePlanConfig {
    /// What the invariant is, in words (shown in findings).
    pub name: String,
    /// Requests that make a fresh resource, in order; `capture` names values for later steps.
    pub setup: Option<Vec<RaceStepConfig>>,
    /// The request sent as one synchronized burst (and sequentially as the
    /// control); a list of requests is cycled through (check-then-act pairs
    /// such as cancel and ship of one order).
    pub burst: OneOrMany<RaceStepConfig>,
    /// Statuses that count as success [default: 2xx].
    pub success: Option<String>,
    /// The most successes the rules allow on one fresh resource [default: 1].
    pub limit: Option<u32>,
    /// Rounds (each: a control and a burst on fresh resources) [default: 3].
    pub rounds: Option<u32>,
    /// The identity that sends everything [default: the first].
    pub identity: Option<String>,
    /// Issue a never-seen client certificate for each fresh resource (races
    /// on state the API initialises on an identity's first request).
    pub fresh_client_cert: Option<FreshClientCertConfig>,
    /// Read the state back before and after: `{ request = "GET /accounts/{account}", value = "/balance" }`.
    pub state: Option<RaceStateConfig>,
    /// JSON pointer to a value each success must carry uniquely (e.g. `/reservation_number`).
    pub unique: Option<String>,
}

/// `fresh_client_cert`: the test environment's client CA, as PEM files.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FreshClientCertConfig {
    /// CA certificate PEM path.
    pub ca_cert: PathBuf,
    /// CA private key PEM path.
    pub ca_key: PathBuf,
}

/// `state`: how a race plan reads the raced state back.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RaceStateConfig {
    /// `METHOD /path`, where `{name}` is a captured value.
    pub request: String,
    /// Extra headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// JSON pointer to a number in the answer.
    pub value: String,
}

/// A table or a list of tables.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// One.
    One(T),
    /// Several, in order.
    Many(Vec<T>),
}

impl<T: Default> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::One(T::default())
    }
}

impl<T> OneOrMany<T> {
    /// The items, in order.
    pub fn items(&self) -> Vec<&T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v.iter().collect(),
        }
    }
}

/// One request of a race plan.
#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RaceStepConfig {
    /// `METHOD /path`, where `{name}` is a captured value.
    pub request: String,
    /// Body (`{name}` substituted).
    pub body: Option<String>,
    /// Extra headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// name = JSON pointer into this step's response body.
    pub capture: Option<BTreeMap<String, String>>,
}

/// The kind of value an environment variable holds.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Integer,
    Float,
    Bool,
    List,
}

/// `MORTAR_<KEY>` for every scalar and list key of [`Layer`].
const ENV_KEYS: &[(&str, Kind)] = &[
    ("url", Kind::Text),
    ("spec", Kind::Text),
    ("profile", Kind::Text),
    ("format", Kind::Text),
    ("output", Kind::Text),
    ("reports", Kind::List),
    ("threshold", Kind::Integer),
    ("fail_on", Kind::Text),
    ("baseline", Kind::Text),
    ("rate", Kind::Float),
    ("concurrency", Kind::Integer),
    ("timeout", Kind::Text),
    ("max_time", Kind::Text),
    ("max_requests", Kind::Integer),
    ("race_burst", Kind::Integer),
    ("race_rounds", Kind::Integer),
    ("rate_burst", Kind::Integer),
    ("scope_hosts", Kind::List),
    ("include_paths", Kind::List),
    ("exclude_paths", Kind::List),
    ("checks", Kind::List),
    ("skip_checks", Kind::List),
    ("proxy", Kind::Text),
    ("ca_cert", Kind::Text),
    ("strict_tls", Kind::Bool),
    ("framework", Kind::Text),
    ("signed_sample", Kind::Text),
    ("canary_listen", Kind::Text),
    ("canary_url", Kind::Text),
];

/// The environment variable for a key.
pub fn env_name(key: &str) -> String {
    format!("MORTAR_{}", key.to_ascii_uppercase())
}

/// The layer from `MORTAR_*` variables. Values are typed the same way as in the file.
pub fn env_layer(env: &BTreeMap<String, String>) -> Result<Layer, UsageError> {
    let mut table = toml::Table::new();
    for (key, kind) in ENV_KEYS {
        let var = env_name(key);
        let Some(raw) = env.get(&var) else { continue };
        let bad = |what: &str| UsageError::new(format!("{var}: `{raw}` is not {what}"));
        let value = match kind {
            Kind::Text => toml::Value::String(raw.clone()),
            Kind::Integer => toml::Value::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?),
            Kind::Float => toml::Value::Float(raw.trim().parse().map_err(|_| bad("a number"))?),
            Kind::Bool => toml::Value::Boolean(match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" | "" => false,
                _ => return Err(bad("true or false")),
            }),
            Kind::List => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.into()))
                    .collect(),
            ),
        };
        table.insert(key.to_string(), value);
    }
    Layer::deserialize(table).map_err(|e| UsageError::new(format!("MORTAR_* environment: {}", e.message())))
}

/// The layer from a mortar.toml file; relative paths are taken from the file's folder.
pub fn file_layer(path: &Path) -> Result<Layer, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("cannot read config {}: {e}", path.display())))?;
    let mut layer: Layer = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        UsageError::new(format!("{}{at}: {}", path.display(), e.message().trim()))
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let rebase = |p: &mut Option<PathBuf>| {
        if let Some(p) = p
            && p.is_relative()
        {
            *p = base.join(&*p);
        }
    };
    rebase(&mut layer.output);
    rebase(&mut layer.baseline);
    rebase(&mut layer.ca_cert);
    if let Some(ids) = &mut layer.identities {
        for id in ids.values_mut() {
            rebase(&mut id.cert);
            rebase(&mut id.key);
            if let Some(login) = &mut id.login {
                let values = login.headers.iter_mut().flat_map(|h| h.values_mut()).chain(login.body.iter_mut());
                for value in values {
                    if let Some(file) = value.strip_prefix('@')
                        && Path::new(file).is_relative()
                    {
                        *value = format!("@{}", base.join(file).display());
                    }
                }
            }
            if let Some(headers) = &mut id.headers {
                for value in headers.values_mut() {
                    if let Some(file) = value.strip_prefix('@')
                        && Path::new(file).is_relative()
                    {
                        *value = format!("@{}", base.join(file).display());
                    }
                }
            }
        }
    }
    Ok(layer)
}

/// The layer from flags (identities from flags are handled in [`crate::identity`]).
pub fn flag_layer(args: &ScanArgs) -> Layer {
    let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    Layer {
        url: args.url.clone(),
        spec: args.spec.clone(),
        profile: args.profile.clone(),
        format: args.format.clone(),
        output: args.output.clone(),
        reports: list(&args.report),
        threshold: args.threshold.map(i64::from),
        fail_on: args.fail_on.clone(),
        baseline: args.baseline.clone(),
        rate: args.rate,
        concurrency: args.concurrency,
        timeout: args.timeout.clone().map(DurationValue::Text),
        max_time: args.max_time.clone().map(DurationValue::Text),
        max_requests: args.max_requests,
        race_burst: args.race_burst,
        race_rounds: args.race_rounds,
        rate_burst: args.rate_burst,
        canary_listen: args.canary_listen.clone(),
        canary_url: args.canary_url.clone(),
        scope_hosts: list(&args.scope_host),
        include_paths: list(&args.include_path),
        exclude_paths: list(&args.exclude_path),
        checks: list(&args.checks),
        skip_checks: list(&args.skip_checks),
        proxy: args.proxy.clone(),
        ca_cert: args.ca_cert.clone(),
        strict_tls: args.strict_tls.then_some(true),
        framework: args.framework.clone(),
        signed_sample: args.signed_sample.clone(),
        identities: None,
        suppressions: None,
        race: None,
    }
}

macro_rules! overlay {
    ($base:ident, $top:ident, $($field:ident),* $(,)?) => {
        $( if $top.$field.is_some() { $base.$field = $top.$field; } )*
    };
}

/// Lays `top` over `base`: every option set in `top` wins.
pub fn overlay(mut base: Layer, top: Layer) -> Layer {
    overlay!(
        base,
        top,
        url,
        spec,
        profile,
        format,
        output,
        reports,
        threshold,
        fail_on,
        baseline,
        rate,
        concurrency,
        timeout,
        max_time,
        max_requests,
        race_burst,
        race_rounds,
        rate_burst,
        canary_listen,
        canary_url,
        scope_hosts,
        include_paths,
        exclude_paths,
        checks,
        skip_checks,
        proxy,
        ca_cert,
        strict_tls,
        signed_sample
    );
    if top.suppressions.is_some() {
        base.suppressions = top.suppressions;
    }
    if top.race.is_some() {
        base.race = top.race;
    }
    if let Some(top_ids) = top.identities {
        let ids = base.identities.get_or_insert_with(BTreeMap::new);
        ids.extend(top_ids);
    }
    base
}

use mortar_scan::{Pace, defaults};

impl Layer {
    /// Pace settings with defaults, validated.
    pub fn pace(&self) -> Result<Pace, UsageError> {
        let rate = self.rate.unwrap_or(defaults::RATE);
        if !(rate >= 0.0 && rate.is_finite()) {
            return Err(UsageError::new(format!("rate: `{rate}` must be a number of requests per second, 0 or more")));
        }
        let concurrency = self.concurrency.unwrap_or(defaults::CONCURRENCY);
        if concurrency == 0 || concurrency > 1024 {
            return Err(UsageError::new("concurrency: must be from 1 to 1024"));
        }
        let race_burst = self.race_burst.unwrap_or(defaults::RACE_BURST);
        if !(2..=1000).contains(&race_burst) {
            return Err(UsageError::new("race-burst: must be from 2 to 1000"));
        }
        let race_rounds = self.race_rounds.unwrap_or(defaults::RACE_ROUNDS);
        if !(1..=100).contains(&race_rounds) {
            return Err(UsageError::new("race-rounds: must be from 1 to 100"));
        }
        let rate_burst = self.rate_burst.unwrap_or(defaults::RATE_BURST);
        if !(2..=200).contains(&rate_burst) {
            return Err(UsageError::new("rate-burst: must be from 2 to 200"));
        }
        let timeout = self.timeout.as_ref().map(|d| d.resolve("timeout")).transpose()?.unwrap_or(defaults::TIMEOUT);
        let max_time = self.max_time.as_ref().map(|d| d.resolve("max-time")).transpose()?.unwrap_or(defaults::MAX_TIME);
        if timeout.is_zero() || max_time.is_zero() {
            return Err(UsageError::new("timeout and max-time must be longer than zero"));
        }
        if self.max_requests == Some(0) {
            return Err(UsageError::new("max-requests: must be at least 1"));
        }
        Ok(Pace {
            rate: (rate > 0.0).then_some(rate),
            concurrency: concurrency as usize,
            timeout,
            max_time,
            max_requests: self.max_requests,
            race_burst: race_burst as usize,
            race_rounds: race_rounds as usize,
            rate_burst: rate_burst as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mortar.toml");
        std::fs::write(&path, "profile = \"passive\"\ntresholds = 80\n").unwrap();
        let err = file_layer(&path).unwrap_err().to_string();
        assert!(err.contains("tresholds") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn layers_apply_in_order() {
        let file = Layer { profile: Some("passive".into()), rate: Some(5.0), concurrency: Some(2), ..Layer::default() };
        let env: BTreeMap<String, String> =
            [("MORTAR_RATE".to_string(), "7".to_string()), ("MORTAR_CHECKS".into(), "a, b".into())].into();
        let env = env_layer(&env).unwrap();
        let flags = Layer { rate: Some(9.0), ..Layer::default() };
        let merged = overlay(overlay(file, env), flags);
        assert_eq!(merged.profile.as_deref(), Some("passive"));
        assert_eq!(merged.rate, Some(9.0));
        assert_eq!(merged.concurrency, Some(2));
        assert_eq!(merged.checks, Some(vec!["a".to_string(), "b".to_string()]));
    }

    #[test]
    fn bad_environment_values_are_errors() {
        let env: BTreeMap<String, String> = [("MORTAR_CONCURRENCY".to_string(), "many".to_string())].into();
        assert!(env_layer(&env).unwrap_err().to_string().contains("MORTAR_CONCURRENCY"));
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mortar.example.toml");
        let layer = file_layer(&path).unwrap();
        let suppressions = layer.suppressions.clone().unwrap_or_default();
        assert_eq!(mortar_scan::suppress::parse(&suppressions).unwrap().len(), 2);
        assert!(layer.identities.is_some_and(|ids| !ids.is_empty()));
    }
}

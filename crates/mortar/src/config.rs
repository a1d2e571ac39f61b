//! Layered configuration: built-in defaults, then mortar.toml, then `MORTAR_*`
//! environment variables, then flags. Unknown keys are errors, by name.

use crate::cli::ScanArgs;
use crate::error::UsageError;
use crate::options::{Kind, OPTIONS, Values};
use mortar_scan::{Pace, defaults};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// One layer of the configuration: the table's options it sets (see
/// [`crate::options::OPTIONS`]), and the file-only tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    /// Options set by this layer, typed and checked.
    pub values: Values,
    /// Named identities (`[identities.NAME]`, file only).
    pub identities: Option<BTreeMap<String, IdentityConfig>>,
    /// Accepted findings (`[[suppressions]]`, file only).
    pub suppressions: Option<Vec<mortar_scan::suppress::SuppressionConfig>>,
    /// Race plans (`[[race]]`, file only).
    pub race: Option<Vec<RacePlanConfig>>,
}

/// The tables of mortar.toml that are not options of the table.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileTables {
    identities: Option<BTreeMap<String, IdentityConfig>>,
    suppressions: Option<Vec<mortar_scan::suppress::SuppressionConfig>>,
    race: Option<Vec<RacePlanConfig>>,
}

impl Layer {
    /// A text option (text, path, duration written as text).
    pub fn text(&self, name: &str) -> Option<String> {
        match self.values.get(name)? {
            toml::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }

    /// A path option.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.text(name).map(PathBuf::from)
    }

    /// A whole-number option.
    pub fn integer(&self, name: &str) -> Option<i64> {
        self.values.get(name).and_then(toml::Value::as_integer)
    }

    /// A number option.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.values.get(name).and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
    }

    /// A switch.
    pub fn switch(&self, name: &str) -> Option<bool> {
        self.values.get(name).and_then(toml::Value::as_bool)
    }

    /// A list option.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        let items = self.values.get(name)?.as_array()?;
        Some(items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
    }

    /// A duration option.
    pub fn duration(&self, name: &str) -> Result<Option<Duration>, UsageError> {
        let Some(value) = self.values.get(name) else { return Ok(None) };
        let what = name.replace('_', "-");
        match value {
            toml::Value::String(t) => parse_duration(t).map(Some).map_err(|e| UsageError::new(format!("{what}: {e}"))),
            toml::Value::Integer(n) => Ok(Some(Duration::from_secs((*n).max(0) as u64))),
            toml::Value::Float(f) => Ok(Some(Duration::from_secs_f64(f.max(0.0)))),
            _ => Err(UsageError::new(format!("{what}: not a duration"))),
        }
    }
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

/// The layer from `MORTAR_*` variables, typed and checked as in the file.
pub fn env_layer(env: &BTreeMap<String, String>) -> Result<Layer, UsageError> {
    let mut layer = Layer::default();
    for option in OPTIONS {
        if let Some(raw) = env.get(&option.env_var()) {
            layer.values.insert(option.name, option.parse_env(raw)?);
        }
    }
    Ok(layer)
}

/// The layer from a mortar.toml file; relative paths are taken from the file's folder.
pub fn file_layer(path: &Path) -> Result<Layer, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("cannot read config {}: {e}", path.display())))?;
    let at_line = |offset: usize| format!(" (line {})", text[..offset.min(text.len())].matches('\n').count() + 1);
    let table: BTreeMap<String, toml::Spanned<toml::Value>> = toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|s| at_line(s.start)).unwrap_or_default();
        UsageError::new(format!("{}{at}: {}", path.display(), e.message().trim()))
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut layer = Layer::default();
    let mut tables = toml::Table::new();
    for (key, spanned) in table {
        let at = at_line(spanned.span().start);
        let value = spanned.into_inner();
        match crate::options::find(&key) {
            Some(option) => {
                let mut value = option.check(value, &format!("{}{at}: {key}", path.display()))?;
                if let toml::Value::String(p) = &mut value {
                    let rebase = match option.kind {
                        Kind::Path => true,
                        Kind::PathOrUrl => !mortar_scan::spec::is_url(p),
                        _ => false,
                    };
                    if rebase && Path::new(p.as_str()).is_relative() {
                        *p = base.join(p.as_str()).display().to_string();
                    }
                }
                layer.values.insert(option.name, value);
            }
            None if matches!(key.as_str(), "identities" | "suppressions" | "race") => {
                tables.insert(key, value);
            }
            None => {
                return Err(UsageError::new(format!(
                    "{}{at}: unknown option `{key}` (see mortar.example.toml for every option)",
                    path.display()
                )));
            }
        }
    }
    let tables = FileTables::deserialize(tables)
        .map_err(|e| UsageError::new(format!("{}: {}", path.display(), e.message().trim())))?;
    layer.identities = tables.identities;
    layer.suppressions = tables.suppressions;
    layer.race = tables.race;
    let rebase = |p: &mut Option<PathBuf>| {
        if let Some(p) = p
            && p.is_relative()
        {
            *p = base.join(&*p);
        }
    };
    if let Some(ids) = &mut layer.identities {
        for id in ids.values_mut() {
            rebase(&mut id.cert);
            rebase(&mut id.key);
            let login = id
                .login
                .iter_mut()
                .flat_map(|l| l.headers.iter_mut().flat_map(|h| h.values_mut()).chain(l.body.iter_mut()));
            let headers = id.headers.iter_mut().flat_map(|h| h.values_mut());
            for value in login.chain(headers) {
                if let Some(file) = value.strip_prefix('@')
                    && Path::new(file).is_relative()
                {
                    *value = format!("@{}", base.join(file).display());
                }
            }
        }
    }
    Ok(layer)
}

/// The layer from flags (identities from flags are handled in [`crate::identity`]).
pub fn flag_layer(args: &ScanArgs) -> Layer {
    Layer { values: args.options.0.clone(), ..Layer::default() }
}

/// Lays `top` over `base`: every option set in `top` wins; identities of
/// the same name are replaced, others added.
pub fn overlay(mut base: Layer, top: Layer) -> Layer {
    base.values.extend(top.values);
    if top.suppressions.is_some() {
        base.suppressions = top.suppressions;
    }
    if top.race.is_some() {
        base.race = top.race;
    }
    if let Some(top_ids) = top.identities {
        base.identities.get_or_insert_with(BTreeMap::new).extend(top_ids);
    }
    base
}

impl Layer {
    /// Pace settings with defaults (bounds were checked with each value).
    pub fn pace(&self) -> Result<Pace, UsageError> {
        let defaults = Pace::default();
        let count = |name: &str, default: usize| self.integer(name).map(|n| n as usize).unwrap_or(default);
        let rate = self.number("rate").unwrap_or(defaults::RATE);
        Ok(Pace {
            rate: (rate > 0.0).then_some(rate),
            concurrency: count("concurrency", defaults.concurrency),
            timeout: self.duration("timeout")?.unwrap_or(defaults.timeout),
            max_time: self.duration("max_time")?.unwrap_or(defaults.max_time),
            max_requests: self.integer("max_requests").map(|n| n as u64),
            race_burst: count("race_burst", defaults.race_burst),
            race_rounds: count("race_rounds", defaults.race_rounds),
            rate_burst: count("rate_burst", defaults.rate_burst),
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
        let set = |pairs: &[(&'static str, toml::Value)]| Layer {
            values: pairs.iter().cloned().collect(),
            ..Layer::default()
        };
        let file = set(&[
            ("profile", toml::Value::String("passive".into())),
            ("rate", toml::Value::Float(5.0)),
            ("concurrency", toml::Value::Integer(2)),
        ]);
        let env: BTreeMap<String, String> =
            [("MORTAR_RATE".to_string(), "7".to_string()), ("MORTAR_CHECKS".into(), "a, b".into())].into();
        let env = env_layer(&env).unwrap();
        let flags = set(&[("rate", toml::Value::Float(9.0))]);
        let merged = overlay(overlay(file, env), flags);
        assert_eq!(merged.text("profile").as_deref(), Some("passive"));
        assert_eq!(merged.number("rate"), Some(9.0));
        assert_eq!(merged.integer("concurrency"), Some(2));
        assert_eq!(merged.list("checks"), Some(vec!["a".to_string(), "b".to_string()]));
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

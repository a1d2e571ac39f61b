//! What every check shares during a scan.

use crate::reproduce::{ReproduceContext, curl};
use mortar_engine::{Engine, EngineError, Exchange, Origin, Request};
use mortar_model::coverage::OperationReach;
use mortar_model::{Endpoint, Evidence, Framework, Identity, IdentityCoverage, Observation, Profile, Target};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Scan-wide settings the checks read.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    /// The profile: checks never exceed it.
    pub profile: Profile,
    /// The framework in front of mortar, when the user said (`--framework`):
    /// it wins over detection.
    pub framework: Option<Framework>,
    /// Requests in one synchronized burst (`--race-burst`).
    pub race_burst: usize,
    /// Paths (globs over path templates) to include; empty means all.
    pub include_paths: Vec<String>,
    /// Paths to leave out.
    pub exclude_paths: Vec<String>,
}

/// One shared GET per endpoint: the first check to ask sends it, the others wait for it.
type BaselineCache = Mutex<BTreeMap<Endpoint, Arc<OnceCell<Result<Arc<Exchange>, String>>>>>;

type IdentityUsage = BTreeMap<String, (BTreeSet<String>, BTreeMap<(String, String), BTreeSet<u16>>)>;

/// The shared scan context.
pub struct ScanContext {
    /// The target.
    pub target: Target,
    /// Its origin.
    pub origin: Origin,
    /// The engine every request goes through.
    pub engine: Engine,
    /// Scan settings.
    pub settings: ScanSettings,
    /// Identities the pre-flight accepted, in the order given.
    pub identities: Vec<Arc<Identity>>,
    /// Operations known to the scan (for now the base path; the spec adds more).
    pub endpoints: Vec<Endpoint>,
    /// What reproduce commands may mention (CA file).
    pub reproduce: ReproduceContext,
    baselines: BaselineCache,
    usage: Mutex<IdentityUsage>,
    detected_framework: Mutex<Option<Framework>>,
    refresh_lock: tokio::sync::Mutex<()>,
}

impl ScanContext {
    /// A context for a scan.
    pub fn new(
        target: Target,
        engine: Engine,
        settings: ScanSettings,
        identities: Vec<Arc<Identity>>,
        endpoints: Vec<Endpoint>,
        reproduce: ReproduceContext,
    ) -> ScanContext {
        let endpoints = endpoints
            .into_iter()
            .filter(|e| path_selected(&e.path, &settings.include_paths, &settings.exclude_paths))
            .collect();
        ScanContext {
            origin: Origin::of(&target),
            target,
            engine,
            settings,
            identities,
            endpoints,
            reproduce,
            baselines: Mutex::new(BTreeMap::new()),
            usage: Mutex::new(BTreeMap::new()),
            detected_framework: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The framework remediation is written for: the user's `--framework`, else
    /// what a fingerprinting check detected, else unknown (both variants shown).
    pub fn framework(&self) -> Framework {
        self.settings
            .framework
            .or_else(|| self.detected_framework.lock().ok().and_then(|f| *f))
            .unwrap_or(Framework::Unknown)
    }

    /// Records the framework a check recognised (the first answer stands).
    pub fn set_detected_framework(&self, framework: Framework) {
        if let Ok(mut slot) = self.detected_framework.lock() {
            slot.get_or_insert(framework);
        }
    }

    /// The identity checks use unless they need a specific one: the first given, or none.
    pub fn primary_identity(&self) -> Option<Arc<Identity>> {
        self.identities.first().cloned()
    }

    /// Endpoints reachable with a safe method, for passive checks.
    pub fn safe_endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().filter(|e| matches!(e.method.as_str(), "GET" | "HEAD"))
    }

    /// Sends a request for `check`, recording which identity reached which
    /// operation, and refreshing a lost login session (see [`Self::refresh`]).
    pub async fn send(
        &self,
        check: &'static str,
        endpoint: Option<&Endpoint>,
        request: Request,
    ) -> Result<Exchange, EngineError> {
        let identity = request.identity.as_ref().map(|i| i.name.clone()).unwrap_or_else(|| "anonymous".to_string());
        let logins_before = request.identity.as_ref().map(|i| i.session.logins());
        let mut result = self.engine.send(request.clone().tag(check)).await;
        // A 401 for an identity that logs in: only a failed liveness request
        // means the session is lost; then log in again and send once more.
        if let (Ok(ex), Some(id), Some(before)) = (&result, &request.identity, logins_before)
            && ex.response.status == 401
            && id.login.is_some()
            && self.refresh(id, before).await
        {
            result = self.engine.send(request.tag(check)).await;
        }
        if let Ok(mut usage) = self.usage.lock() {
            let entry = usage.entry(identity).or_default();
            entry.0.insert(check.to_string());
            if let (Some(e), Ok(ex)) = (endpoint, &result) {
                entry.1.entry((e.method.clone(), e.path.clone())).or_default().insert(ex.response.status);
            }
        }
        result
    }

    /// Logs `identity` in again if its session is dead; true when a fresh
    /// token is there (from this call or a concurrent one).
    async fn refresh(&self, identity: &Arc<Identity>, logins_before: u64) -> bool {
        let _one_at_a_time = self.refresh_lock.lock().await;
        if identity.session.logins() != logins_before {
            return true;
        }
        match crate::session::alive(&self.engine, &self.origin, identity).await {
            Some(true) | None => false,
            Some(false) => crate::session::login(&self.engine, &self.origin, identity).await.is_ok(),
        }
    }

    /// The GET of an endpoint as the primary identity, fetched once and shared
    /// by every passive check that only needs to look at it.
    pub async fn baseline(&self, check: &'static str, endpoint: &Endpoint) -> Result<Arc<Exchange>, String> {
        let cell = {
            let mut map = self.baselines.lock().map_err(|_| "baseline cache poisoned".to_string())?;
            map.entry(endpoint.clone()).or_default().clone()
        };
        let result = cell
            .get_or_init(|| async {
                let request = Request::get(&self.origin, endpoint.path.clone()).identity(self.primary_identity());
                self.send(check, Some(endpoint), request).await.map(Arc::new).map_err(|e| e.chain())
            })
            .await
            .clone();
        if let (Ok(_), Ok(mut usage)) = (&result, self.usage.lock()) {
            let name = self.primary_identity().map(|i| i.name.clone()).unwrap_or_else(|| "anonymous".into());
            usage.entry(name).or_default().0.insert(check.to_string());
        }
        result
    }

    /// Evidence from an exchange (redacted).
    pub fn evidence(&self, exchange: &Exchange, note: impl Into<String>) -> Evidence {
        self.engine.evidence(exchange, note)
    }

    /// A curl command reproducing a request, secrets as `$MORTAR_...` placeholders.
    pub fn curl(&self, request: &Request) -> String {
        curl(request, &self.reproduce)
    }

    /// Identity coverage for the report (pre-flight results are filled in by the caller).
    pub fn identity_usage(&self) -> Vec<IdentityCoverage> {
        let usage = self.usage.lock().map(|u| u.clone()).unwrap_or_default();
        usage
            .into_iter()
            .map(|(name, (checks, ops))| IdentityCoverage {
                name,
                accepted: true,
                preflight: String::new(),
                logins: 0,
                used_by: checks.into_iter().collect(),
                operations_reached: ops
                    .into_iter()
                    .map(|((method, path), statuses)| OperationReach {
                        method,
                        path,
                        statuses: statuses.into_iter().collect(),
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Whether a path template passes `--include-path` / `--exclude-path` (globs with `*`).
pub fn path_selected(path: &str, include: &[String], exclude: &[String]) -> bool {
    let hit = |pattern: &String| wildcard(pattern, path);
    (include.is_empty() || include.iter().any(hit)) && !exclude.iter().any(hit)
}

fn wildcard(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else { return false };
            (0..=rest.len()).filter(|i| rest.is_char_boundary(*i)).any(|i| wildcard(tail, &rest[i..]))
        }
    }
}

/// Where a check sends its observations; cloned freely.
#[derive(Clone)]
pub struct Reporter {
    check: &'static str,
    sink: Arc<Mutex<Vec<(&'static str, Observation)>>>,
}

impl Reporter {
    /// A reporter for `check` into `sink`.
    pub fn new(check: &'static str, sink: Arc<Mutex<Vec<(&'static str, Observation)>>>) -> Reporter {
        Reporter { check, sink }
    }

    /// Records an observation at once (it survives the check being cut short).
    pub fn observe(&self, observation: Observation) {
        if let Ok(mut sink) = self.sink.lock() {
            sink.push((self.check, observation));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_and_exclude_paths() {
        let inc = vec!["/api/*".to_string()];
        let exc = vec!["/api/admin*".to_string()];
        assert!(path_selected("/api/users", &inc, &exc));
        assert!(!path_selected("/api/admin/x", &inc, &exc));
        assert!(!path_selected("/other", &inc, &exc));
        assert!(path_selected("/other", &[], &[]));
    }
}

//! What every check shares during a scan.

use crate::reproduce::{ReproduceContext, curl};
use mortar_engine::{Engine, EngineError, Exchange, Origin, Request};
use mortar_model::coverage::OperationReach;
use mortar_model::{Endpoint, Evidence, Framework, Identity, IdentityCoverage, Observation, Profile, Target};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// An operation the scan can call: its template for reports, and a concrete
/// request built from the API description (or the bare path without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOperation {
    /// Method and path template, as reported.
    pub endpoint: Endpoint,
    /// Concrete path and query to send.
    pub target: String,
    /// Headers the operation needs (synthesized header parameters, content type).
    pub headers: Vec<(String, Vec<u8>)>,
    /// A synthesized body, for methods that carry one.
    pub body: Option<Vec<u8>>,
    /// The description marks it deprecated.
    pub deprecated: bool,
    /// The description requires credentials for it.
    pub secured: bool,
    /// Where the description defines it: `file:line` and JSON pointer.
    pub source: Option<(String, Option<u32>, String)>,
    /// What the description says about it beyond the request (empty without one).
    pub described: Described,
}

/// An operation's description, as the access-control checks read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Described {
    /// `operationId`.
    pub operation_id: Option<String>,
    /// `summary`.
    pub summary: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Every OAuth scope any of its security requirements names.
    pub scopes: Vec<String>,
    /// The JSON schema of its first 2xx JSON response (refs inlined).
    pub response_schema: Option<serde_json::Value>,
    /// The JSON schema of its request body (refs inlined).
    pub request_schema: Option<serde_json::Value>,
    /// Its query parameters: name and schema `format`, optional ones included.
    pub query_parameters: Vec<(String, Option<String>)>,
}

impl ScanOperation {
    /// An operation known only by its path (no description).
    pub fn bare(method: &str, path: &str) -> ScanOperation {
        ScanOperation {
            endpoint: Endpoint::new(method, path),
            target: path.to_string(),
            headers: Vec::new(),
            body: None,
            deprecated: false,
            secured: false,
            source: None,
            described: Described::default(),
        }
    }

    /// Whether its method cannot change state.
    pub fn is_safe(&self) -> bool {
        matches!(self.endpoint.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }
}

/// What one identity (or anonymous access) got from one operation during the
/// reachability sweep.
#[derive(Debug, Clone)]
pub struct Reach {
    /// Identity name, `anonymous` without credentials.
    pub identity: String,
    /// The method sent: the operation's, or OPTIONS for an unsafe operation
    /// outside the active profile.
    pub probe: String,
    /// The exchange, or the transport error.
    pub result: Result<Arc<Exchange>, String>,
}

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
    /// Rounds per race candidate (`--race-rounds`; when set it overrides a plan's `rounds`).
    pub race_rounds: usize,
    /// Requests in a rate-limit probe (`--rate-burst`).
    pub rate_burst: usize,
    /// Paths (globs over path templates) to include; empty means all.
    pub include_paths: Vec<String>,
    /// Paths to leave out.
    pub exclude_paths: Vec<String>,
    /// A captured signed request (`--signed-sample`), for the request-signing
    /// probes that need no new signature.
    pub signed_sample: Option<SignedSample>,
    /// Race plans from mortar.toml (`[[race]]`).
    pub race_plans: Vec<RacePlan>,
    /// Where the canary SSRF probes point at is started (when they run).
    pub canary: crate::canary::CanaryPlan,
}

/// A race plan: how to make a fresh resource, what to race on it, and how
/// many successes the API's rules allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RacePlan {
    /// The invariant, in words.
    pub name: String,
    /// Setup requests, in order.
    pub setup: Vec<RaceStep>,
    /// The raced requests: one (limit overrun) or several cycled through
    /// (a check-then-act pair such as cancel and ship).
    pub burst: Vec<RaceStep>,
    /// Status ranges (inclusive) that count as success.
    pub success: Vec<(u16, u16)>,
    /// The most successes allowed on one fresh resource.
    pub limit: usize,
    /// Rounds to run.
    pub rounds: usize,
    /// The identity that sends (by name); the first when `None`.
    pub identity: Option<String>,
    /// Issues a never-seen client certificate for each fresh resource: the
    /// resource is the identity itself (state initialised on its first request).
    pub fresh_client_cert: Option<Arc<crate::issuer::ClientCertIssuer>>,
    /// A request that reads the state the raced requests change, and the JSON
    /// pointer to the number it shows (a balance, a stock, a counter).
    pub state: Option<RaceState>,
    /// JSON pointer to a value every success must carry uniquely (a
    /// reservation or invoice number): two equal values prove the race.
    pub unique: Option<String>,
}

/// How a race plan reads the state back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaceState {
    /// The read request (`{name}` substituted).
    pub read: RaceStep,
    /// JSON pointer to a number in its answer.
    pub pointer: String,
}

impl RacePlan {
    /// Whether `status` counts as a success.
    pub fn is_success(&self, status: u16) -> bool {
        self.success.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }
}

/// One request of a race plan; `{name}` in the path and body is a captured value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaceStep {
    /// Upper-case method.
    pub method: String,
    /// Path (and query) template.
    pub path: String,
    /// Body template.
    pub body: Option<String>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// (name, JSON pointer) pairs captured from the response body.
    pub capture: Vec<(String, String)>,
}

/// A captured, valid, signed request, as the user saved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSample {
    /// Method.
    pub method: String,
    /// Path and query, as captured.
    pub target: String,
    /// Headers as captured, without Host and Content-Length.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body.
    pub body: Vec<u8>,
}

/// One shared GET per endpoint: the first check to ask sends it, the others wait for it.
type BaselineCache = Mutex<BTreeMap<Endpoint, Arc<OnceCell<Result<Arc<Exchange>, String>>>>>;

/// Per identity: the checks that used it, and per operation the statuses seen
/// and the methods sent.
type IdentityUsage =
    BTreeMap<String, (BTreeSet<String>, BTreeMap<(String, String), (BTreeSet<u16>, BTreeSet<String>)>)>;

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
    /// Endpoints of the known operations (the API description's, or the base path).
    pub endpoints: Vec<Endpoint>,
    /// The known operations with their concrete requests.
    pub operations: Vec<ScanOperation>,
    /// What reproduce commands may mention (CA file).
    pub reproduce: ReproduceContext,
    baselines: BaselineCache,
    usage: Mutex<IdentityUsage>,
    detected_framework: Mutex<Option<Framework>>,
    refresh_lock: tokio::sync::Mutex<()>,
    reach: OnceCell<BTreeMap<Endpoint, Vec<Reach>>>,
    /// The request-signing probe session, shared by its six checks.
    pub(crate) signing_probes: OnceCell<Arc<crate::checks::request_signing::Outcome>>,
    /// The SSRF probes and what the canary saw, shared by the ssrf and unsafe-consumption checks.
    pub(crate) canary_probes: OnceCell<Arc<crate::checks::ssrf::Outcome>>,
}

impl ScanContext {
    /// A context for a scan.
    pub fn new(
        target: Target,
        engine: Engine,
        settings: ScanSettings,
        identities: Vec<Arc<Identity>>,
        operations: Vec<ScanOperation>,
        reproduce: ReproduceContext,
    ) -> ScanContext {
        let operations: Vec<ScanOperation> = operations
            .into_iter()
            .filter(|o| path_selected(&o.endpoint.path, &settings.include_paths, &settings.exclude_paths))
            .collect();
        let endpoints = operations.iter().map(|o| o.endpoint.clone()).collect();
        ScanContext {
            origin: Origin::of(&target),
            target,
            engine,
            settings,
            identities,
            endpoints,
            operations,
            reproduce,
            baselines: Mutex::new(BTreeMap::new()),
            usage: Mutex::new(BTreeMap::new()),
            detected_framework: Mutex::new(None),
            refresh_lock: tokio::sync::Mutex::new(()),
            reach: OnceCell::new(),
            signing_probes: OnceCell::new(),
            canary_probes: OnceCell::new(),
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

    /// The operation behind an endpoint.
    pub fn operation(&self, endpoint: &Endpoint) -> Option<&ScanOperation> {
        self.operations.iter().find(|o| &o.endpoint == endpoint)
    }

    /// A request for an endpoint with `method`: the concrete target (path
    /// parameters filled, required query parameters set) and the operation's
    /// headers; the body only when the method is the operation's own.
    pub fn request(&self, method: &str, endpoint: &Endpoint) -> Request {
        let Some(op) = self.operation(endpoint) else {
            return Request::new(method, &self.origin, endpoint.path.clone());
        };
        let mut request = Request::new(method, &self.origin, op.target.clone());
        request.headers = op.headers.clone();
        if method.eq_ignore_ascii_case(&op.endpoint.method)
            && let Some(body) = &op.body
        {
            request.body = body.clone();
        }
        request
    }

    /// Every operation as every accepted identity and anonymously, once per
    /// scan, shared by the checks that judge what answered (and recorded in
    /// coverage). Unsafe operations are probed with OPTIONS unless the
    /// profile is active: the standard profile never writes.
    pub async fn reachability(&self, check: &'static str) -> &BTreeMap<Endpoint, Vec<Reach>> {
        self.reach
            .get_or_init(|| async {
                let mut who: Vec<Option<Arc<Identity>>> = vec![None];
                who.extend(self.identities.iter().cloned().map(Some));
                let mut jobs = Vec::new();
                for op in &self.operations {
                    for identity in &who {
                        let probe = if op.is_safe() || self.settings.profile == Profile::Active {
                            op.endpoint.method.clone()
                        } else {
                            "OPTIONS".to_string()
                        };
                        let request = self.request(&probe, &op.endpoint).identity(identity.clone());
                        let name = identity.as_ref().map(|i| i.name.clone()).unwrap_or_else(|| "anonymous".into());
                        jobs.push(async move {
                            let result = self.send(check, Some(&op.endpoint), request).await;
                            (
                                op.endpoint.clone(),
                                Reach { identity: name, probe, result: result.map(Arc::new).map_err(|e| e.chain()) },
                            )
                        });
                    }
                }
                let mut map: BTreeMap<Endpoint, Vec<Reach>> = BTreeMap::new();
                for (endpoint, reach) in futures::future::join_all(jobs).await {
                    map.entry(endpoint).or_default().push(reach);
                }
                map
            })
            .await
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
        let method = request.method.clone();
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
                let seen = entry.1.entry((e.method.clone(), e.path.clone())).or_default();
                seen.0.insert(ex.response.status);
                seen.1.insert(method);
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
                let request = self.request("GET", endpoint).identity(self.primary_identity());
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
                    .map(|((method, path), (statuses, probes))| OperationReach {
                        method,
                        path,
                        statuses: statuses.into_iter().collect(),
                        probed_with: probes.into_iter().collect(),
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

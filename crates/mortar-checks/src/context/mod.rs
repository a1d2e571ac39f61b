//! What every check shares during a scan: the context (target, engine,
//! identities, operations, the shared baselines and reachability sweep, state
//! shared between checks by type), the reporter, the operations and settings
//! the checks read, and the context's own helpers (login sessions, curl lines).

pub mod hazard;
mod hold;
mod liveness;
mod operation;
pub mod reproduce;
pub mod session;
mod settings;

pub use hold::{HeldOperation, Hold};
pub use liveness::PhaseReport;
pub use operation::{Described, Reach, ScanOperation};
pub use settings::{RacePlan, RaceState, RaceStep, ScanSettings, SignedSample};

use mortar_engine::{BurstOptions, BurstReport, Engine, EngineError, Exchange, Origin, Request};
use mortar_model::coverage::OperationReach;
use mortar_model::{Endpoint, Evidence, Framework, Identity, IdentityCoverage, Observation, Profile, Target};
use reproduce::{ReproduceContext, curl};
use std::any::{Any, TypeId};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

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
    shared: SharedState,
    /// Destructive operations, sent only in the scan's last phase.
    pub hold: Hold,
    /// Destructive GETs the profile does not call (named explicitly they are).
    pub withheld: Vec<HeldOperation>,
    identity_watch: liveness::IdentityWatch,
}

/// State several checks share, one value per type (see [`ScanContext::shared`]).
type SharedState = Mutex<HashMap<TypeId, Arc<OnceCell<Arc<dyn Any + Send + Sync>>>>>;

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
        let mut operations: Vec<ScanOperation> = operations
            .into_iter()
            .filter(|o| path_selected(&o.endpoint.path, &settings.include_paths, &settings.exclude_paths))
            .collect();
        let (held, withheld) = hold_back(&mut operations, settings.profile, &settings.include_paths);
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
            shared: Mutex::new(HashMap::new()),
            hold: Hold::new(held),
            withheld,
            identity_watch: Default::default(),
        }
    }

    /// The scan's one value of type `T`, shared by every check that asks for
    /// it (a probe session whose results several checks judge): the first
    /// caller runs `init`, concurrent callers wait for it, later ones get the
    /// same value. Keyed by type, so the machinery that owns `T` decides what
    /// is shared, not a field named after a check.
    pub async fn shared<T, F, Fut>(&self, init: F) -> Arc<T>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let cell = {
            let mut map = self.shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(TypeId::of::<T>()).or_default().clone()
        };
        let value = cell.get_or_init(|| async { Arc::new(init().await) as Arc<dyn Any + Send + Sync> }).await;
        match value.clone().downcast::<T>() {
            Ok(value) => value,
            // The cell under `TypeId::of::<T>()` only ever holds a `T`.
            Err(_) => unreachable!("shared state keyed by type holds another type"),
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
                        // A destructive operation is not swept with its own method: the sweep
                        // belongs to the main phase, and its answers would be about a
                        // resource (or identity) the request itself removed.
                        let destructive = self.hold.held().iter().any(|h| h.endpoint == op.endpoint);
                        let probe = if (op.is_safe() || self.settings.profile == Profile::Active) && !destructive {
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

    /// Endpoints reachable with a safe method, for passive checks; not the
    /// destructive ones (a GET that resets or logs out).
    pub fn safe_endpoints(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints
            .iter()
            .filter(|e| matches!(e.method.as_str(), "GET" | "HEAD"))
            .filter(|e| !self.hold.held().iter().any(|h| &h.endpoint == *e))
    }

    /// The profile rule, for every request a check sends: outside the active
    /// profile only GET, HEAD and OPTIONS go out (for an exact-bytes request,
    /// the method its bytes carry).
    fn permit(&self, request: &Request) -> Result<(), EngineError> {
        if self.settings.profile == Profile::Active {
            return Ok(());
        }
        let method = match &request.raw {
            Some(raw) => String::from_utf8_lossy(raw.split(|b| *b == b' ').next().unwrap_or_default()).into_owned(),
            None => request.method.clone(),
        };
        match method.as_str() {
            "GET" | "HEAD" | "OPTIONS" => Ok(()),
            _ => Err(EngineError::ProfileForbids { method, profile: self.settings.profile }),
        }
    }

    /// Sends a request for `check`, recording which identity reached which
    /// operation, and refreshing a lost login session (see [`Self::refresh`]).
    /// A method the profile does not allow is refused unsent
    /// ([`EngineError::ProfileForbids`]).
    pub async fn send(
        &self,
        check: &'static str,
        endpoint: Option<&Endpoint>,
        request: Request,
    ) -> Result<Exchange, EngineError> {
        self.permit(&request)?;
        let held = self.hold.holds(&request, endpoint).cloned();
        let _one_destructive_at_a_time = match &held {
            Some(_) => Some(self.enter_last_phase(check).await?),
            None => None,
        };
        self.refuse_if_lost(check, &request)?;
        let _in_flight = self.hold.in_flight();
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
            result = self.engine.send(request.clone().tag(check)).await;
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
        if let Ok(ex) = &result {
            self.after_answer(&request, held.as_ref(), ex.response.status).await;
        }
        result
    }

    /// Waits for the last phase and takes its one-at-a-time lock; refuses
    /// when the scan's deadline comes first.
    async fn enter_last_phase(&self, check: &'static str) -> Result<tokio::sync::MutexGuard<'_, ()>, EngineError> {
        if !self.hold.wait_open(check, self.engine.time_left()).await {
            return Err(EngineError::DeadlineReached);
        }
        Ok(self.hold.serial.lock().await)
    }

    /// Sends `requests` for `check` as one synchronized burst
    /// ([`Engine::burst`]), under the same profile rule as [`Self::send`]: the
    /// whole burst is refused unsent when one request's method is not allowed.
    pub async fn burst(
        &self,
        check: &'static str,
        requests: Vec<Request>,
        options: BurstOptions,
    ) -> Result<BurstReport, EngineError> {
        for request in &requests {
            self.permit(request)?;
        }
        let held = requests.iter().find_map(|r| self.hold.holds(r, None)).cloned();
        let _one_destructive_at_a_time = match &held {
            Some(_) => Some(self.enter_last_phase(check).await?),
            None => None,
        };
        for request in &requests {
            self.refuse_if_lost(check, request)?;
        }
        let first = requests.first().cloned();
        let _in_flight = self.hold.in_flight();
        let report = self.engine.burst(requests.into_iter().map(|r| r.tag(check)).collect(), options).await?;
        let accepted = report.responses.iter().filter_map(|r| r.status).find(|s| (200..300).contains(s));
        if let (Some(first), Some(status)) = (first, accepted) {
            self.after_answer(&first, held.as_ref(), status).await;
        }
        Ok(report)
    }

    /// Logs `identity` in again if its session is dead; true when a fresh
    /// token is there (from this call or a concurrent one).
    async fn refresh(&self, identity: &Arc<Identity>, logins_before: u64) -> bool {
        let _one_at_a_time = self.refresh_lock.lock().await;
        if identity.session.logins() != logins_before {
            return true;
        }
        match session::alive(&self.engine, &self.origin, identity).await {
            Some(true) | None => false,
            Some(false) => session::login(&self.engine, &self.origin, identity).await.is_ok(),
        }
    }

    /// The GET of an endpoint as the primary identity, fetched once and shared
    /// by every passive check that only needs to look at it. A destructive
    /// operation has no baseline: passive checks only look, and looking at a
    /// reset or a logout would destroy what the rest of the scan needs.
    pub async fn baseline(&self, check: &'static str, endpoint: &Endpoint) -> Result<Arc<Exchange>, String> {
        if let Some(held) = self.hold.held().iter().find(|h| &h.endpoint == endpoint) {
            return Err(format!("not fetched for passive checks: {}", held.reason));
        }
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
                lost_after: None,
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

/// Takes the destructive operations out of the main phase: held back to
/// the last phase when the profile sends them with their own method, left
/// out entirely when a GET is destructive by name and the profile is not
/// active (unless `--include-path` names its path exactly). Returns (held,
/// left out).
pub fn hold_back(
    operations: &mut Vec<ScanOperation>,
    profile: Profile,
    include_paths: &[String],
) -> (Vec<HeldOperation>, Vec<HeldOperation>) {
    let active = profile == Profile::Active;
    let named = |path: &str| include_paths.iter().any(|p| !p.contains('*') && p == path);
    let mut held = Vec::new();
    let mut withheld = Vec::new();
    operations.retain(|op| {
        let Some(reason) = hazard::destructive_reason(op) else { return true };
        let path = op.target.split('?').next().unwrap_or_default().to_string();
        let entry = HeldOperation { endpoint: op.endpoint.clone(), path, reason };
        if active || (op.is_safe() && named(&op.endpoint.path)) {
            held.push(entry);
        } else if op.is_safe() {
            withheld.push(entry);
            return false;
        }
        true
    });
    (held, withheld)
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
    use crate::check::{Check, CheckVerdict};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A context for `url` with the given profile and no identities or operations.
    fn context(url: &str, profile: Profile) -> ScanContext {
        let target = Target::parse(url).unwrap();
        let config = mortar_engine::EngineConfig { scope_hosts: vec![target.host.clone()], ..Default::default() };
        let engine = Engine::new(config, &[]).unwrap();
        let settings = ScanSettings {
            profile,
            framework: None,
            race_burst: 2,
            race_rounds: 1,
            rate_burst: 2,
            include_paths: Vec::new(),
            exclude_paths: Vec::new(),
            signed_sample: None,
            race_plans: Vec::new(),
            canary: Default::default(),
        };
        ScanContext::new(target, engine, settings, Vec::new(), Vec::new(), ReproduceContext::default())
    }

    /// A loopback HTTP server that answers every request 200 and counts the
    /// connections it accepted.
    async fn counting_server() -> (String, Arc<AtomicUsize>) {
        let (url, connections, _) = recording_server().await;
        (url, connections)
    }

    /// [`counting_server`] that also records each request line, in arrival order.
    async fn recording_server() -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (counted, recorded) = (connections.clone(), lines.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string();
                    recorded.lock().unwrap().push(line);
                    let _ =
                        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
                });
            }
        });
        (url, connections, lines)
    }

    /// Metadata of a check that exists only in these tests (passive, so the
    /// profile rule, not the check's own profile, must stop what it sends).
    const fn test_info(id: &'static str, title: &'static str) -> mortar_model::CheckInfo {
        mortar_model::CheckInfo {
            id,
            category: mortar_model::Category::Misconfiguration,
            severity: mortar_model::Severity::Low,
            profile: Profile::Passive,
            title,
            description: "",
            remediation: mortar_model::Remediation { summary: "", actix_web: "", axum: "" },
            references: mortar_model::References { owasp_api: &[], cwe: &[] },
        }
    }

    /// A check that tries to delete: the profile rule must stop it, whatever the check's own profile says.
    static DELETER: Check = Check {
        info: test_info("misconfiguration.test-deleter", "A check that sends DELETE"),
        module: module_path!(),
        run: |ctx, _reporter| {
            Box::pin(async move {
                let request = Request::new("DELETE", &ctx.origin, "/orders/1");
                match ctx.send(DELETER.info.id, None, request).await {
                    Ok(ex) => CheckVerdict::Ran(format!("DELETE answered {}", ex.response.status)),
                    Err(e) => CheckVerdict::Inconclusive(e.chain()),
                }
            })
        },
    };

    /// A check that reads five times, pausing between reads.
    static READER: Check = Check {
        info: test_info("misconfiguration.test-reader", "A check that reads slowly"),
        module: module_path!(),
        run: |ctx, _reporter| {
            Box::pin(async move {
                for _ in 0..5 {
                    let _ = ctx.send(READER.info.id, None, Request::get(&ctx.origin, "/orders")).await;
                    tokio::time::sleep(std::time::Duration::from_millis(40)).await;
                }
                CheckVerdict::Ran("read".into())
            })
        },
    };

    #[tokio::test(flavor = "multi_thread")]
    async fn a_destructive_request_waits_until_every_other_request_is_done() {
        let (url, _, lines) = recording_server().await;
        let base = context(&url, Profile::Active);
        let operations = vec![ScanOperation::bare("GET", "/orders"), ScanOperation::bare("DELETE", "/orders/1")];
        let ctx = ScanContext::new(
            base.target.clone(),
            base.engine.clone(),
            base.settings.clone(),
            Vec::new(),
            operations,
            ReproduceContext::default(),
        );
        assert_eq!(ctx.hold.held().len(), 1);
        // The deleter is first in the list and sends at once; the reader is slower.
        let results = crate::run_checks(Arc::new(ctx), &[&DELETER, &READER]).await;
        assert!(results.coverage.iter().all(|c| c.status == mortar_model::CheckStatus::Ran), "{:?}", results.coverage);
        let lines = lines.lock().unwrap().clone();
        assert_eq!(lines.len(), 6, "{lines:?}");
        assert!(lines[5].starts_with("DELETE /orders/1 "), "the DELETE went out last: {lines:?}");
        assert!(results.phases.notes.iter().any(|n| n.contains("held back")), "{:?}", results.phases.notes);
    }

    #[tokio::test]
    async fn outside_the_active_profile_only_safe_methods_leave() {
        for profile in [Profile::Passive, Profile::Standard] {
            let (url, connections) = counting_server().await;
            let ctx = context(&url, profile);
            for method in ["POST", "DELETE", "PUT", "PATCH", "TRACE", "get"] {
                let request = Request::new(method, &ctx.origin, "/orders/1");
                match ctx.send("test", None, request).await {
                    Err(EngineError::ProfileForbids { method: refused, profile: p }) => {
                        assert_eq!((refused.as_str(), p), (method, profile))
                    }
                    other => panic!("{method} under {profile}: {other:?}"),
                }
            }
            // An exact-bytes request is judged by the method on its wire.
            let mut raw = Request::get(&ctx.origin, "/orders/1");
            raw.raw = Some(b"DELETE /orders/1 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
            assert!(matches!(ctx.send("test", None, raw).await, Err(EngineError::ProfileForbids { .. })));
            let burst = vec![Request::get(&ctx.origin, "/a"), Request::new("POST", &ctx.origin, "/a")];
            let refused = ctx.burst("test", burst, BurstOptions::default()).await;
            assert!(matches!(refused, Err(EngineError::ProfileForbids { .. })), "{profile}: {:?}", refused.err());
            let results = crate::run_checks(Arc::new(context(&url, profile)), &[&DELETER]).await;
            assert_eq!(results.coverage[0].status, mortar_model::CheckStatus::Inconclusive);
            assert!(results.coverage[0].reason.as_deref().unwrap_or_default().contains("active profile"));
            assert_eq!(results.coverage[0].requests, 0);
            assert_eq!(connections.load(Ordering::SeqCst), 0, "{profile}: nothing reached the server");
            assert!(ctx.engine.requests_by_tag().is_empty(), "{profile}: the engine counted nothing");
            for method in ["GET", "HEAD", "OPTIONS"] {
                let sent = ctx.send("test", None, Request::new(method, &ctx.origin, "/orders/1")).await;
                assert_eq!(
                    sent.map(|ex| ex.response.status).map_err(|e| e.chain()),
                    Ok(200),
                    "{method} under {profile}"
                );
            }
            assert_eq!(connections.load(Ordering::SeqCst), 3);
        }
    }

    #[tokio::test]
    async fn the_active_profile_sends_any_method() {
        let (url, connections) = counting_server().await;
        let ctx = context(&url, Profile::Active);
        for method in ["POST", "DELETE"] {
            let sent = ctx.send("test", None, Request::new(method, &ctx.origin, "/orders/1")).await;
            assert_eq!(sent.map(|ex| ex.response.status).map_err(|e| e.chain()), Ok(200), "{method}");
        }
        let results = crate::run_checks(Arc::new(context(&url, Profile::Active)), &[&DELETER]).await;
        assert_eq!(results.coverage[0].reason.as_deref(), Some("DELETE answered 200"));
        assert_eq!(connections.load(Ordering::SeqCst), 3);
        let burst = vec![Request::new("POST", &ctx.origin, "/a"), Request::new("POST", &ctx.origin, "/a")];
        // Whatever the burst's outcome on this tiny server, it was not refused and it reached it.
        let outcome = ctx.burst("test", burst, BurstOptions::default()).await;
        assert!(!matches!(outcome, Err(EngineError::ProfileForbids { .. })));
        assert!(connections.load(Ordering::SeqCst) > 3);
        assert_eq!(ctx.engine.requests_by_tag().get("test"), Some(&4));
    }

    #[tokio::test]
    async fn shared_state_is_made_once_per_type_and_waited_for() {
        struct Session(usize);
        let ctx = context("http://127.0.0.1:9/", Profile::Standard);
        let runs = AtomicUsize::new(0);
        let ask = || {
            ctx.shared(|| async {
                runs.fetch_add(1, Ordering::SeqCst);
                // Long enough for the other caller to arrive while this one runs.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                Session(7)
            })
        };
        let (a, b) = tokio::join!(ask(), ask());
        assert!(Arc::ptr_eq(&a, &b), "both callers get the one value");
        assert_eq!((a.0, runs.load(Ordering::SeqCst)), (7, 1), "init ran once");
        let later = ctx.shared(|| async { Session(8) }).await;
        assert_eq!(later.0, 7, "a later caller gets the same value, its init is not run");
        // Another type has its own value.
        let other = ctx.shared(|| async { String::from("canary probes") }).await;
        assert_eq!(other.as_str(), "canary probes");
    }

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

//! Whether the identities survive the scan's writes: after the main phase
//! and after each destructive request that was accepted, every identity is
//! re-checked with its liveness probe. A lost identity is logged in again
//! when it has a login recipe; otherwise every later request made as it is
//! refused unsent, and the checks that wanted to send one say so.

use super::hold::HeldOperation;
use super::{ScanContext, session};
use mortar_engine::{EngineError, Request};
use mortar_model::{Endpoint, Identity};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Liveness rounds a scan may spend after destructive requests (each costs
/// one or two requests per identity); the round after the main phase is extra.
const MAX_LIVENESS_ROUNDS: usize = 40;

/// Path words of an operation that answers about the caller: the best probe.
const SELF_WORDS: &[&str] = &["me", "self", "whoami", "profile", "account", "accounts", "user", "users", "session"];

/// What the watch learned during the scan.
#[derive(Debug, Default)]
pub(super) struct IdentityWatch {
    /// Identity name -> the request after which it stopped working.
    lost: Mutex<BTreeMap<String, String>>,
    /// Check id -> requests not sent because their identity was lost.
    refused: Mutex<BTreeMap<&'static str, u64>>,
    /// Identity name -> the operation chosen as its probe (None: no probe).
    probes: Mutex<BTreeMap<String, Option<Endpoint>>>,
    notes: Mutex<Vec<String>>,
    rounds: AtomicUsize,
    /// Whether any liveness round ran (only then does a missing probe matter).
    checked: std::sync::atomic::AtomicBool,
}

/// What the report says about the scan's phases and identities.
#[derive(Debug, Clone, Default)]
pub struct PhaseReport {
    /// Lines for the report's notes.
    pub notes: Vec<String>,
    /// Identity name -> the request after which it stopped working.
    pub lost: BTreeMap<String, String>,
    /// Check id -> requests it could not send because their identity was lost.
    pub refused: BTreeMap<&'static str, u64>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn endpoint_list(ops: &[&HeldOperation]) -> String {
    let shown: Vec<String> =
        ops.iter().take(8).map(|h| format!("{} {} ({})", h.endpoint.method, h.endpoint.path, h.reason)).collect();
    let more = ops.len().saturating_sub(8);
    if more > 0 { format!("{}, and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

impl ScanContext {
    /// Refuses a request made as an identity the scan has lost.
    pub(super) fn refuse_if_lost(&self, check: &'static str, request: &Request) -> Result<(), EngineError> {
        let Some(identity) = &request.identity else { return Ok(()) };
        let after = locked(&self.identity_watch.lost).get(&identity.name).cloned();
        match after {
            None => Ok(()),
            Some(after) => {
                *locked(&self.identity_watch.refused).entry(check).or_default() += 1;
                Err(EngineError::IdentityLost { identity: identity.name.clone(), after })
            }
        }
    }

    /// Bookkeeping after an answer: the last accepted write, the held
    /// operations sent, and a liveness round after an accepted destructive one.
    pub(super) async fn after_answer(&self, request: &Request, held: Option<&HeldOperation>, status: u16) {
        let path = request.target.split('?').next().unwrap_or_default();
        let line = format!("{} {path} (HTTP {status})", request.method);
        let accepted = (200..300).contains(&status);
        if accepted && !matches!(request.method.as_str(), "GET" | "HEAD" | "OPTIONS") {
            self.hold.note_write(line.clone());
        }
        if let Some(held) = held {
            self.hold.note_sent(&held.endpoint);
            if accepted && self.identity_watch.rounds.fetch_add(1, Ordering::SeqCst) < MAX_LIVENESS_ROUNDS {
                self.liveness_round(&line).await;
            }
        }
    }

    /// Holds destructive requests until the main phase is over, re-checks the
    /// identities, then opens the last phase. The runner runs this beside the
    /// checks; it returns when the last phase has begun.
    pub async fn gate_last_phase(&self) {
        let parked = self.hold.main_phase_done().await;
        if parked || self.hold.last_write().is_some() {
            let after = match self.hold.last_write() {
                Some(write) => format!("the main phase's writes (the last accepted: {write})"),
                None => "the main phase".to_string(),
            };
            self.liveness_round(&after).await;
        }
        self.hold.open();
    }

    /// Re-checks every identity not yet lost; `after` names what it follows.
    async fn liveness_round(&self, after: &str) {
        self.identity_watch.checked.store(true, Ordering::SeqCst);
        for identity in &self.identities {
            if locked(&self.identity_watch.lost).contains_key(&identity.name) {
                continue;
            }
            let Some(probe) = self.liveness_probe(identity) else { continue };
            // Twice: one failed answer may be the target's hiccup, not a lost identity.
            if self.probe_alive(identity, &probe).await != Some(false)
                || self.probe_alive(identity, &probe).await != Some(false)
            {
                continue;
            }
            let name = &identity.name;
            if identity.login.is_some()
                && session::login(&self.engine, &self.origin, identity).await.is_ok()
                && self.probe_alive(identity, &probe).await == Some(true)
            {
                locked(&self.identity_watch.notes)
                    .push(format!("Identity {name} stopped working after {after} and was logged in again."));
                continue;
            }
            locked(&self.identity_watch.lost).insert(name.clone(), after.to_string());
        }
    }

    async fn probe_alive(&self, identity: &std::sync::Arc<Identity>, probe: &Request) -> Option<bool> {
        let request = probe.clone().identity(Some(identity.clone())).tag(session::SESSION_TAG);
        let _in_flight = self.hold.in_flight();
        match self.engine.send(request).await {
            Ok(ex) => Some((200..300).contains(&ex.response.status)),
            Err(_) => None,
        }
    }

    /// The request that shows an identity still works: its login recipe's
    /// liveness request, else a GET of the description that answered it 2xx
    /// and anonymous access 401/403 in the reachability sweep (one about the
    /// caller preferred). None: the scan cannot tell.
    fn liveness_probe(&self, identity: &Identity) -> Option<Request> {
        if let Some(liveness) = identity.login.as_ref().and_then(|l| l.liveness.as_ref()) {
            return Some(session::recipe_request(&self.origin, liveness));
        }
        // Chosen once, from the sweep; not before the sweep has run (a later
        // round may find it done).
        self.reach.get()?;
        let mut probes = locked(&self.identity_watch.probes);
        let chosen = probes.entry(identity.name.clone()).or_insert_with(|| self.choose_probe(&identity.name)).clone();
        drop(probes);
        chosen.map(|endpoint| self.request("GET", &endpoint))
    }

    fn choose_probe(&self, name: &str) -> Option<Endpoint> {
        let reach = self.reach.get()?;
        let status = |entries: &[super::Reach], who: &str| {
            entries
                .iter()
                .find(|r| r.identity == who && r.probe == "GET")
                .and_then(|r| r.result.as_ref().ok())
                .map(|e| e.response.status)
        };
        self.operations
            .iter()
            .filter(|op| op.endpoint.method == "GET" && !self.hold.held().iter().any(|h| h.endpoint == op.endpoint))
            .filter(|op| {
                let entries = reach.get(&op.endpoint).map(Vec::as_slice).unwrap_or_default();
                status(entries, name).is_some_and(|s| (200..300).contains(&s))
                    && status(entries, "anonymous").is_some_and(|s| matches!(s, 401 | 403))
            })
            .min_by_key(|op| {
                let about_caller = op
                    .endpoint
                    .path
                    .split('/')
                    .any(|segment| SELF_WORDS.contains(&segment.to_ascii_lowercase().as_str()));
                (!about_caller, op.endpoint.path.matches('{').count(), op.endpoint.path.len())
            })
            .map(|op| op.endpoint.clone())
    }

    /// What the report says about the phases: operations held back or left
    /// out, identities lost or logged in again, requests refused.
    pub fn phase_report(&self) -> PhaseReport {
        let mut notes = Vec::new();
        let sent = self.hold.sent();
        let held: Vec<&HeldOperation> = self.hold.held().iter().collect();
        if !held.is_empty() {
            let never = held.iter().filter(|h| !sent.contains(&h.endpoint)).count();
            notes.push(format!(
                "{} destructive operation(s) were held back to the scan's last phase, after every other request: {}.{}",
                held.len(),
                endpoint_list(&held),
                if never == 0 { String::new() } else { format!(" No check sent {never} of them.") }
            ));
        }
        if !self.withheld.is_empty() {
            let withheld: Vec<&HeldOperation> = self.withheld.iter().collect();
            notes.push(format!(
                "Not called, because outside the active profile the scan does not send what may destroy data: {}. Name a path with --include-path to call it.",
                endpoint_list(&withheld)
            ));
        }
        notes.extend(locked(&self.identity_watch.notes).iter().cloned());
        let lost = locked(&self.identity_watch.lost).clone();
        let refused = locked(&self.identity_watch.refused).clone();
        for (name, after) in &lost {
            let checks: Vec<&str> = refused.keys().copied().collect();
            let detail = if checks.is_empty() {
                String::new()
            } else {
                format!(" Later requests as {name} were not sent; checks affected: {}.", checks.join(", "))
            };
            notes.push(format!(
                "Identity {name} stopped working after {after} and has no login recipe to restore it.{detail}"
            ));
        }
        let unprobed: Vec<&str> = self
            .identities
            .iter()
            .filter(|_| self.identity_watch.checked.load(Ordering::SeqCst))
            .filter(|i| locked(&self.identity_watch.probes).get(&i.name).is_none_or(Option::is_none))
            .filter(|i| i.login.as_ref().and_then(|l| l.liveness.as_ref()).is_none())
            .map(|i| i.name.as_str())
            .collect();
        if !unprobed.is_empty() {
            notes.push(format!(
                "No liveness probe for {}: no operation was seen to answer it while refusing anonymous access, so the scan could not tell whether its writes broke it (a login recipe with a liveness request gives one).",
                unprobed.join(", ")
            ));
        }
        PhaseReport { notes, lost, refused }
    }
}

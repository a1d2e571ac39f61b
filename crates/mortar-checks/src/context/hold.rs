//! The scan's last phase. Requests to destructive operations (see
//! [`super::hazard`]) wait here until every other request of the scan is
//! done, then go out one at a time, so that a DELETE or a reset cannot take
//! an identity or the checks' data away from a check still running.
//!
//! The gate opens when every running check is waiting at it and nothing else
//! is in flight, or, as a fallback for a check blocked behind another's
//! parked request (a shared probe session), when nothing has been in flight
//! for [`QUIET_FALLBACK`].

use mortar_engine::Request;
use mortar_model::Endpoint;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long the scan must be idle before the gate opens for every parked check.
const QUIET_FALLBACK: Duration = Duration::from_millis(1500);
/// How long the scan must be idle once every running check is parked (a
/// check between two sequential requests has nothing in flight for a moment).
const QUIET_ALL_PARKED: Duration = Duration::from_millis(200);
/// How often the driver looks at the state.
const POLL: Duration = Duration::from_millis(50);

/// One operation held back to the last phase.
#[derive(Debug, Clone)]
pub struct HeldOperation {
    /// Method and path template.
    pub endpoint: Endpoint,
    /// The concrete path it is sent to (query stripped).
    pub path: String,
    /// Why it is destructive.
    pub reason: String,
}

#[derive(Debug)]
struct State {
    running: BTreeSet<&'static str>,
    parked: BTreeMap<&'static str, usize>,
    in_flight: usize,
    last_activity: Instant,
    last_write: Option<String>,
    sent: BTreeSet<Endpoint>,
}

/// The gate of the last phase (one per scan).
#[derive(Debug)]
pub struct Hold {
    held: Vec<HeldOperation>,
    state: Mutex<State>,
    opened: watch::Sender<bool>,
    /// Held requests go out one at a time, each with its liveness round.
    pub(super) serial: tokio::sync::Mutex<()>,
}

/// Counts a request in flight until dropped.
pub(super) struct InFlight<'a>(&'a Hold);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.with_state(|s| {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.last_activity = Instant::now();
        });
    }
}

impl Hold {
    /// A gate for `held` (empty: requests never wait).
    pub fn new(held: Vec<HeldOperation>) -> Hold {
        let state = State {
            running: BTreeSet::new(),
            parked: BTreeMap::new(),
            in_flight: 0,
            last_activity: Instant::now(),
            last_write: None,
            sent: BTreeSet::new(),
        };
        Hold { held, state: Mutex::new(state), opened: watch::channel(false).0, serial: tokio::sync::Mutex::new(()) }
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The operations held back, in the order they were planned.
    pub fn held(&self) -> &[HeldOperation] {
        &self.held
    }

    /// Held operations that were sent at least once in the last phase.
    pub fn sent(&self) -> BTreeSet<Endpoint> {
        self.with_state(|s| s.sent.clone())
    }

    /// The held operation a request goes to: by its endpoint, or by method and
    /// concrete path for a request sent without one.
    pub fn holds(&self, request: &Request, endpoint: Option<&Endpoint>) -> Option<&HeldOperation> {
        let path = request.target.split('?').next().unwrap_or_default();
        self.held.iter().find(|h| {
            h.endpoint.method.eq_ignore_ascii_case(&request.method)
                && (endpoint == Some(&h.endpoint) || (endpoint.is_none() && h.path == path))
        })
    }

    /// Checks that started (the runner calls this before spawning them).
    pub fn begin(&self, checks: impl IntoIterator<Item = &'static str>) {
        self.with_state(|s| s.running.extend(checks));
    }

    /// A check ended (or was cut short).
    pub fn finished(&self, check: &'static str) {
        self.with_state(|s| {
            s.running.remove(check);
        });
    }

    /// A request is about to go out.
    pub(super) fn in_flight(&self) -> InFlight<'_> {
        self.with_state(|s| s.in_flight += 1);
        InFlight(self)
    }

    /// A state-changing request was answered 2xx: the suspect if an identity
    /// turns out lost at the end of the main phase.
    pub(super) fn note_write(&self, request: String) {
        self.with_state(|s| s.last_write = Some(request));
    }

    /// The last state-changing request answered 2xx, if any.
    pub fn last_write(&self) -> Option<String> {
        self.with_state(|s| s.last_write.clone())
    }

    /// A held operation went out.
    pub(super) fn note_sent(&self, endpoint: &Endpoint) {
        self.with_state(|s| {
            s.sent.insert(endpoint.clone());
        });
    }

    /// Waits for the last phase; false when `limit` ran out first.
    pub(super) async fn wait_open(&self, check: &'static str, limit: Option<Duration>) -> bool {
        let mut opened = self.opened.subscribe();
        if *opened.borrow() {
            return true;
        }
        self.with_state(|s| *s.parked.entry(check).or_default() += 1);
        let wait = async { opened.wait_for(|open| *open).await.is_ok() };
        let result = match limit {
            Some(limit) => tokio::time::timeout(limit, wait).await.unwrap_or(false),
            None => wait.await,
        };
        self.with_state(|s| {
            if let Some(n) = s.parked.get_mut(check) {
                *n -= 1;
                if *n == 0 {
                    s.parked.remove(check);
                }
            }
        });
        result
    }

    /// Waits until the main phase is over: some request is parked and the
    /// scan is otherwise done (see the module docs), or no check is running.
    /// Returns whether a request is waiting for the last phase.
    pub(super) async fn main_phase_done(&self) -> bool {
        loop {
            let (parked, ready) = self.with_state(|s| {
                let quiet = if s.in_flight == 0 { s.last_activity.elapsed() } else { Duration::ZERO };
                let all_parked = s.running.iter().all(|c| s.parked.contains_key(c));
                let parked = !s.parked.is_empty();
                let ready = s.running.is_empty()
                    || (parked && ((all_parked && quiet >= QUIET_ALL_PARKED) || quiet >= QUIET_FALLBACK));
                (parked, ready)
            });
            if ready {
                return parked;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Lets parked requests go.
    pub fn open(&self) {
        self.opened.send_replace(true);
    }
}

//! Scan-wide settings the checks read: profile, bursts, paths, the signed
//! sample, race plans and the canary.

use mortar_model::{Framework, Profile};
use std::sync::Arc;

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
    pub canary: crate::probes::canary::CanaryPlan,
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
    pub fresh_client_cert: Option<Arc<crate::probes::issuer::ClientCertIssuer>>,
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

//! What a scan is asked to do: resolved, validated options (the command
//! line, a stored target of the server and the MCP tools all build one).

use crate::suppress::Suppression;
use mortar_checks::{RacePlan, Selection, SignedSample};
use mortar_engine::{ProxyConfig, TlsSettings};
use mortar_model::{Framework, Identity, Profile, Target};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Built-in defaults of the pace options (the configuration table shows them in `--help`).
pub mod defaults {
    use std::time::Duration;
    /// Requests per second.
    pub const RATE: f64 = 50.0;
    /// Requests in flight.
    pub const CONCURRENCY: u32 = 8;
    /// Per-request timeout.
    pub const TIMEOUT: Duration = Duration::from_secs(10);
    /// Whole-scan deadline.
    pub const MAX_TIME: Duration = Duration::from_secs(300);
    /// Requests in one synchronized burst.
    pub const RACE_BURST: u32 = 20;
    /// Rounds per race candidate.
    pub const RACE_ROUNDS: u32 = 3;
    /// Requests in a rate-limit probe: small, so that a real limit a little
    /// higher is not mistaken for none while a missing one still shows.
    pub const RATE_BURST: u32 = 15;
}

/// Pace and limits, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Pace {
    /// Requests per second, `None` for unlimited.
    pub rate: Option<f64>,
    /// In flight at once.
    pub concurrency: usize,
    /// Per request.
    pub timeout: Duration,
    /// Whole scan.
    pub max_time: Duration,
    /// Budget.
    pub max_requests: Option<u64>,
    /// Burst size.
    pub race_burst: usize,
    /// Rounds per race candidate.
    pub race_rounds: usize,
    /// Requests in a rate-limit probe.
    pub rate_burst: usize,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            rate: Some(defaults::RATE),
            concurrency: defaults::CONCURRENCY as usize,
            timeout: defaults::TIMEOUT,
            max_time: defaults::MAX_TIME,
            max_requests: None,
            race_burst: defaults::RACE_BURST as usize,
            race_rounds: defaults::RACE_ROUNDS as usize,
            rate_burst: defaults::RATE_BURST as usize,
        }
    }
}

/// Everything a scan needs, resolved and validated.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The target.
    pub target: Target,
    /// Profile.
    pub profile: Profile,
    /// Pace and limits.
    pub pace: Pace,
    /// Identities, in order.
    pub identities: Vec<Arc<Identity>>,
    /// Check selection.
    pub selection: Selection,
    /// TLS trust.
    pub tls: TlsSettings,
    /// The CA file path, for reproduce commands.
    pub ca_cert: Option<PathBuf>,
    /// HTTP proxy.
    pub proxy: Option<ProxyConfig>,
    /// Hosts in scope besides the target's.
    pub scope_hosts: Vec<String>,
    /// Path globs to include (empty: all).
    pub include_paths: Vec<String>,
    /// Path globs to leave out.
    pub exclude_paths: Vec<String>,
    /// The framework behind the API, when the user said (it wins over detection).
    pub framework: Option<Framework>,
    /// The API description: a file path or URL.
    pub spec: Option<String>,
    /// A captured signed request.
    pub signed_sample: Option<SignedSample>,
    /// Race plans.
    pub race_plans: Vec<RacePlan>,
    /// Where the SSRF canary listens.
    pub canary_listen: Option<std::net::SocketAddr>,
    /// The canary's URL as the target reaches it.
    pub canary_url: Option<String>,
    /// Finding ids of a baseline report: those findings are marked unchanged.
    pub baseline: Option<BTreeSet<String>>,
    /// Accepted findings.
    pub suppressions: Vec<Suppression>,
}

impl ScanOptions {
    /// Options for `target` with every default: standard profile, no identity, no description.
    pub fn new(target: Target) -> ScanOptions {
        ScanOptions {
            target,
            profile: Profile::Standard,
            pace: Pace::default(),
            identities: Vec::new(),
            selection: Selection::default(),
            tls: TlsSettings::default(),
            ca_cert: None,
            proxy: None,
            scope_hosts: Vec::new(),
            include_paths: Vec::new(),
            exclude_paths: Vec::new(),
            framework: None,
            spec: None,
            signed_sample: None,
            race_plans: Vec::new(),
            canary_listen: None,
            canary_url: None,
            baseline: None,
            suppressions: Vec::new(),
        }
    }
}

//! The plan a scan will follow, without running it (`mortar scan --dry-run`):
//! the identities, the API description and the server entry its paths go
//! under, every operation with the exact request line it will be sent with,
//! the checks, and an estimate of the requests.

use crate::error::{InputError, ScanError};
use crate::options::ScanOptions;
use crate::pipeline::bare_operations;
use crate::spec;
use mortar_checks::ScanOperation;
use mortar_model::{Profile, Target};
use std::fmt::Write as _;

/// Where the operations came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanSpec {
    /// No description given: the scan looks for one at the target.
    NotGiven,
    /// A description, loaded (a URL is fetched once for the plan).
    Loaded {
        /// File path or URL as given.
        source: String,
        /// `info.title` and `info.version`.
        title: String,
        /// Operations loaded.
        operations: usize,
        /// Operations the description defines badly, left out.
        skipped: usize,
        /// Which server entry gave the base path, and why.
        server: String,
        /// A server host the description names that is not the target's (never contacted).
        out_of_scope: Option<String>,
    },
}

/// What a scan would do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The target, with the base path chosen.
    pub target: Target,
    /// The profile.
    pub profile: Profile,
    /// `name: headers [..] + client certificate` per identity (no secret).
    pub identities: Vec<String>,
    /// The API description.
    pub spec: PlanSpec,
    /// The operations with their concrete requests, destructive ones included.
    pub operations: Vec<ScanOperation>,
    /// Destructive operations the scan sends only in its last phase.
    pub held: Vec<mortar_checks::context::HeldOperation>,
    /// Destructive GETs the profile does not call at all.
    pub withheld: Vec<mortar_checks::context::HeldOperation>,
    /// GET requests the learning step sends before the checks.
    pub learning_requests: usize,
    /// Check ids that will run.
    pub checks: Vec<&'static str>,
    /// Check ids that will not, with the reason.
    pub skipped_checks: Vec<(String, String)>,
}

/// Plans a scan. Sends nothing, except the one GET of a description given by
/// URL (with the scan's TLS settings and timeout), so the plan shows what the
/// scan will really call.
pub async fn plan(options: &ScanOptions) -> Result<Plan, ScanError> {
    let (run, skipped) =
        mortar_checks::plan(options.profile, &options.selection).map_err(|e| InputError::new(e.to_string()))?;
    let identities = options
        .identities
        .iter()
        .map(|id| {
            let headers: Vec<&str> = id.headers.iter().map(|h| h.name.as_str()).collect();
            let cert = if id.client_cert.is_some() { " + client certificate" } else { "" };
            format!("{}: headers [{}]{cert}", id.name, headers.join(", "))
        })
        .collect();
    let (target, spec_plan, operations, learning_requests) = match options.spec.as_deref() {
        Some(source) => {
            let api = spec::load(source, &options.tls, options.pace.timeout).await?;
            let resolved = spec::resolve(&api, &options.target.url)?;
            let operations = spec::operations(&api, &resolved.target, &mortar_spec::KnownValues::default());
            let plan_spec = PlanSpec::Loaded {
                source: source.to_string(),
                title: format!("{} {}", api.title, api.api_version),
                operations: api.operations.len(),
                skipped: api.skipped.len(),
                server: resolved.choice.reason.clone(),
                out_of_scope: resolved.choice.out_of_scope.clone(),
            };
            let paths = spec::PathFilter { include: &options.include_paths, exclude: &options.exclude_paths };
            let learning = spec::learning_requests(&api, &resolved.target, &paths);
            (resolved.target, plan_spec, operations, learning)
        }
        None => (options.target.clone(), PlanSpec::NotGiven, bare_operations(&options.target), 0),
    };
    let mut operations: Vec<ScanOperation> = operations
        .into_iter()
        .filter(|o| {
            spec::PathFilter { include: &options.include_paths, exclude: &options.exclude_paths }
                .selected(&o.endpoint.path)
        })
        .collect();
    let (held, withheld) = mortar_checks::context::hold_back(&mut operations, options.profile, &options.include_paths);
    Ok(Plan {
        target,
        profile: options.profile,
        identities,
        spec: spec_plan,
        operations,
        held,
        withheld,
        learning_requests,
        checks: run.iter().map(|c| c.info.id).collect(),
        skipped_checks: skipped.into_iter().map(|s| (s.check, s.reason.unwrap_or_default())).collect(),
    })
}

impl Plan {
    /// The plan as text, as `--dry-run` prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "target:     {}\nprofile:    {}", self.target.url, self.profile);
        out.push_str("identities:\n");
        if self.identities.is_empty() {
            out.push_str("  (none: requests are anonymous)\n");
        }
        for id in &self.identities {
            let _ = writeln!(out, "  {id}");
        }
        match &self.spec {
            PlanSpec::NotGiven => out.push_str("spec:       none given (the scan looks for one at the target)\n"),
            PlanSpec::Loaded { source, title, operations, skipped, server, out_of_scope } => {
                let _ = writeln!(out, "spec:       {source} ({title}, {operations} operations, {skipped} skipped)");
                let _ = writeln!(out, "server:     {server}");
                if let Some(host) = out_of_scope {
                    let _ = writeln!(out, "out of scope: {host} (named by the description's servers; not contacted)");
                }
            }
        }
        let _ = writeln!(out, "base path:  {}\noperations ({}):", self.target.base_path, self.operations.len());
        let last_phase = |op: &ScanOperation| self.held.iter().find(|h| h.endpoint == op.endpoint);
        // Main phase first, then the destructive operations in the order they are held back.
        let main = self.operations.iter().filter(|op| last_phase(op).is_none());
        for op in main.chain(self.operations.iter().filter(|op| last_phase(op).is_some())) {
            let sent = if op.is_safe() || self.profile == Profile::Active {
                format!("{} {}", op.endpoint.method, op.target)
            } else {
                format!("OPTIONS {}  (unsafe method: probed with OPTIONS outside the active profile)", op.target)
            };
            let held = match last_phase(op) {
                Some(h) => format!("  [last phase: {}; sent after every other request]", h.reason),
                None => String::new(),
            };
            let _ = writeln!(out, "  {} {}  ->  {sent}{held}", op.endpoint.method, op.endpoint.path);
        }
        if !self.withheld.is_empty() {
            let _ = writeln!(out, "operations not called ({}):", self.withheld.len());
            for h in &self.withheld {
                let _ = writeln!(
                    out,
                    "  {} {}  ({}: may destroy data, called only in the active profile or when --include-path names it)",
                    h.endpoint.method, h.endpoint.path, h.reason
                );
            }
        }
        let who = self.identities.len() + 1;
        let preflight = who;
        let sweep = self.operations.len() * who;
        let safe = self.operations.iter().filter(|o| o.is_safe()).count().max(1);
        let checks = 3 * safe * self.checks.len();
        let _ = writeln!(
            out,
            "estimated requests: about {} (pre-flight {preflight}, learning ids {}, reachability {sweep} = {} operations x {who} identities incl. anonymous, checks up to {checks} = {} checks x {safe} safe operations x 3)",
            preflight + self.learning_requests + sweep + checks,
            self.learning_requests,
            self.operations.len(),
            self.checks.len()
        );
        let _ = writeln!(out, "checks to run ({}):", self.checks.len());
        for c in &self.checks {
            let _ = writeln!(out, "  {c}");
        }
        let _ = writeln!(out, "checks skipped ({}):", self.skipped_checks.len());
        for (check, reason) in &self.skipped_checks {
            let _ = writeln!(out, "  {check}: {reason}");
        }
        out
    }
}

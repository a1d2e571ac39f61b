//! mortar's lab: small HTTPS services on 127.0.0.1, each scenario in a
//! `vulnerable` and a `fixed` variant, used as the scanner's ground truth.
//!
//! [`Lab::start`] generates a throwaway CA and server certificate in a fresh
//! temporary directory, starts every target (axum on a dedicated tokio
//! runtime, actix-web on its own System thread), waits until each completes a
//! TLS handshake and describes them as [`LabTarget`]s.

#![warn(missing_docs)]

use std::fmt;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

mod bench;
mod db;
mod scenarios;
mod serve;
mod signing;
mod tls;

/// Options for [`Lab::start`].
#[derive(Debug, Clone, Default)]
pub struct LabOptions {
    /// Stop every server after this long (`None`: serve until shut down).
    pub max_lifetime: Option<Duration>,
}

/// Which side of a scenario a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// Has the flaw the scenario is about.
    Vulnerable,
    /// Identical, with the flaw remediated.
    Fixed,
}

impl Variant {
    /// `"vulnerable"` or `"fixed"`, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Vulnerable => "vulnerable",
            Variant::Fixed => "fixed",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A check that must fire on a target.
#[derive(Serialize, Clone, Debug)]
#[serde(untagged)]
pub enum Expected {
    /// The check id, wherever it fires.
    Check(String),
    /// The check id at one operation, when the place matters.
    At {
        /// The check id.
        check: String,
        /// The HTTP method of the operation.
        method: String,
        /// The path of the operation.
        path: String,
    },
}

/// A finding that may fire on a target for an incidental reason.
#[derive(Serialize, Clone, Debug)]
pub struct Allowed {
    /// The check id.
    pub check: String,
    /// Why it may fire (shown in the demo table).
    pub reason: String,
}

/// One running lab target and what a scan of it must find.
#[derive(Serialize, Clone, Debug)]
pub struct LabTarget {
    /// The scenario name, e.g. `cors-reflection`.
    pub scenario: String,
    /// Vulnerable or fixed.
    pub variant: Variant,
    /// The base URL to scan (`https://127.0.0.1:PORT/...`).
    pub url: String,
    /// The OpenAPI document URL, if the target has one.
    pub spec: Option<String>,
    /// Extra scanner arguments a real user would pass (`--ca-cert`, identities...).
    pub scan_args: Vec<String>,
    /// Checks that must fire.
    pub expected: Vec<Expected>,
    /// Checks that may fire, with the reason.
    pub allowed: Vec<Allowed>,
}

impl LabTarget {
    /// The target as one line of JSON (no trailing newline), fields in the
    /// order scenario, variant, url, spec, scan_args, expected, allowed.
    pub fn to_json_line(&self) -> String {
        // Cannot fail: only strings, lists and options, all with string keys;
        // serde_json escapes newlines inside strings, so this is one line.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why the lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The temporary directory could not be created.
    #[error("cannot create the lab's temporary directory: {0}")]
    TempDir(#[source] io::Error),
    /// A file in the temporary directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Certificate generation failed.
    #[error("cannot generate the lab certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The rustls configuration was refused.
    #[error("cannot build the lab's TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The operating system's random source failed.
    #[error("cannot gather randomness for the lab's secrets")]
    Random,
    /// A loopback listener could not be bound.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] io::Error),
    /// A server runtime or thread could not be started.
    #[error("cannot start the lab's server runtime: {0}")]
    Runtime(#[source] io::Error),
    /// The lab database could not be opened or prepared.
    #[error("cannot open the lab database: {0}")]
    Database(#[source] sqlx::Error),
    /// actix-web refused to start a server.
    #[error("cannot start an actix-web server: {0}")]
    Actix(#[source] io::Error),
    /// [`Lab::start_only`] was given a name no scenario has.
    #[error("no lab scenario is named `{0}`")]
    UnknownScenario(String),
    /// The servers stopped while the lab was starting.
    #[error("the lab's servers stopped unexpectedly")]
    Stopped,
    /// A target did not complete a TLS handshake in time.
    #[error("lab target {addr} did not accept TLS connections: {source}")]
    NotReady {
        /// The target's address.
        addr: SocketAddr,
        /// The last connection error.
        #[source]
        source: io::Error,
    },
}

/// Base URLs of the benchmark endpoints (ending in `/bench/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchUrls {
    /// axum (hyper), HTTPS with ALPN h2 and http/1.1.
    pub tls: String,
    /// axum (hyper), plain TCP: HTTP/1.1, or h2c with prior knowledge.
    pub plain: String,
    /// actix-web, HTTPS with ALPN h2 and http/1.1.
    pub actix_tls: String,
}

/// The running lab: its targets, servers and temporary directory (CA
/// certificate, identity files). Dropping it stops the servers and removes
/// the directory.
pub struct Lab {
    targets: Vec<LabTarget>,
    methods: std::sync::Arc<serve::MethodCounter>,
    bench: BenchUrls,
    ca_cert_path: PathBuf,
    // Declared before `dir`: servers stop before their files disappear.
    servers: serve::Servers,
    dir: tempfile::TempDir,
}

impl fmt::Debug for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lab").field("targets", &self.targets).field("dir", &self.dir.path()).finish_non_exhaustive()
    }
}

impl Lab {
    /// Generates the certificates, starts every target and returns once each
    /// listener completes a TLS handshake. Must be awaited inside a tokio
    /// runtime (any flavour); the servers run on their own threads.
    pub async fn start(options: LabOptions) -> Result<Lab, LabError> {
        Lab::start_scenarios(options, None).await
    }

    /// Like [`Lab::start`], with only the named scenarios (both variants of
    /// each) and the benchmark endpoints: a test about one scenario does not
    /// wait for every server. An unknown name is an error.
    pub async fn start_only(scenarios: &[&str]) -> Result<Lab, LabError> {
        if let Some(unknown) = scenarios.iter().find(|n| !scenarios::ALL.iter().any(|s| s.name == **n)) {
            return Err(LabError::UnknownScenario(unknown.to_string()));
        }
        Lab::start_scenarios(LabOptions::default(), Some(scenarios)).await
    }

    async fn start_scenarios(options: LabOptions, only: Option<&[&str]>) -> Result<Lab, LabError> {
        let dir = tempfile::Builder::new().prefix("mortar-lab-").tempdir().map_err(LabError::TempDir)?;
        let pki = tls::Pki::generate()?;
        let ca_cert_path = dir.path().join("ca.pem");
        write_file(&ca_cert_path, pki.ca_pem.as_bytes(), 0o644)?;

        // From here on, an early return drops `servers`, stopping what started.
        let mut servers = serve::Servers::new()?;
        let mut ctx =
            serve::LabContext::new(dir.path(), &ca_cert_path, &pki, servers.handle()?, servers.stop_receiver())?;
        let mut targets = Vec::new();
        for scenario in scenarios::ALL.iter().filter(|s| only.is_none_or(|names| names.contains(&s.name))) {
            for variant in [Variant::Vulnerable, Variant::Fixed] {
                let target = (scenario.start)(&mut ctx, variant)?;
                debug_assert_eq!(target.scenario, scenario.name);
                targets.push(target);
            }
        }
        let methods = ctx.methods();
        let bench_router = bench::router();
        let bench_tls = ctx.serve_axum(bench_router.clone())?;
        let bench_plain = ctx.serve_axum_plain(bench_router)?;
        let bench_actix = bench::serve_actix(&mut ctx)?;
        let bench = BenchUrls {
            tls: format!("https://{bench_tls}/bench/"),
            plain: format!("http://{bench_plain}/bench/"),
            actix_tls: format!("https://{bench_actix}/bench/"),
        };
        servers.start_actix(&mut ctx).await?;
        serve::wait_ready(&pki, ctx.addrs()).await?;
        if let Some(lifetime) = options.max_lifetime {
            servers.stop_after(lifetime)?;
        }
        Ok(Lab { targets, methods, bench, ca_cert_path, servers, dir })
    }

    /// Every target, in a stable order (scenario by scenario, vulnerable first).
    pub fn targets(&self) -> &[LabTarget] {
        &self.targets
    }

    /// The benchmark endpoints (see the `bench` module): not scenarios, so not
    /// in [`Lab::targets`] nor in `mortar lab`'s output.
    pub fn bench(&self) -> &BenchUrls {
        &self.bench
    }

    /// Requests received so far by every lab server, per method (the
    /// benchmark endpoints included).
    pub fn methods_seen(&self) -> std::collections::BTreeMap<String, u64> {
        self.methods.snapshot()
    }

    /// Forgets the methods counted so far.
    pub fn reset_methods(&self) {
        self.methods.reset()
    }

    /// The lab CA certificate (PEM), to pass as `--ca-cert`.
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_cert_path
    }

    /// Resolves once the servers stop because `max_lifetime` elapsed; never
    /// resolves without a lifetime.
    pub async fn wait(&self) {
        self.servers.stopped().await
    }

    /// Stops every server and removes the temporary directory.
    pub fn shutdown(self) {
        // Field drop order does the work: servers first, then the directory.
        drop(self);
    }
}

/// Writes a file with the given Unix mode, creating it fresh.
pub(crate) fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), LabError> {
    let wrap = |source| LabError::WriteFile { path: path.to_owned(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(mode);
        let mut file = options.open(path).map_err(wrap)?;
        // The umask may have narrowed the mode; the CA must be world-readable.
        file.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(wrap)?;
        file.write_all(contents).map_err(wrap)?;
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        let mut file = options.open(path).map_err(wrap)?;
        file.write_all(contents).map_err(wrap)?;
    }
    Ok(())
}

/// Writes a secret (owner-only, 0600) into the lab directory.
pub(crate) fn write_private_file(path: &Path, contents: &[u8]) -> Result<(), LabError> {
    write_file(path, contents, 0o600)
}

#[cfg(test)]
mod tests;

//! Serving machinery shared by all scenarios: loopback listeners, the axum
//! runtime, the actix System thread, the readiness probe and shutdown.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::ServerName;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::LabError;
use crate::tls::{BadLeaf, ClientAuth, MtlsKit, Pki};

/// Worker threads per actix server: the lab is small, the default (one per
/// core, per server) would spawn dozens of threads.
const ACTIX_WORKERS: usize = 2;
/// A client that never finishes its handshake must not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `Lab::start` waits for every listener to complete a TLS handshake.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long stopping waits for the axum runtime's workers.
const RUNTIME_STOP_WAIT: Duration = Duration::from_secs(2);
/// How long stopping waits for the actix thread before leaving it behind.
const ACTIX_STOP_WAIT: Duration = Duration::from_secs(3);

/// Builds one actix server inside the actix System (actix needs its runtime
/// to exist when `run` is called, so servers are built on that thread).
type ActixStarter = Box<dyn FnOnce() -> io::Result<actix_web::dev::Server> + Send>;

/// What a scenario gets to set up its targets.
/// Requests received per method, across every lab server: lets tests prove
/// that a profile never sent a method it must not.
#[derive(Debug, Default)]
pub(crate) struct MethodCounter(std::sync::Mutex<std::collections::BTreeMap<String, u64>>);

impl MethodCounter {
    pub(crate) fn count(&self, method: &str) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry(method.to_owned()).or_default() += 1;
        }
    }

    pub(crate) fn snapshot(&self) -> std::collections::BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub(crate) fn reset(&self) {
        if let Ok(mut map) = self.0.lock() {
            map.clear();
        }
    }
}

pub(crate) struct LabContext {
    methods: Arc<MethodCounter>,
    dir: PathBuf,
    ca_cert_path: PathBuf,
    axum_tls: Arc<rustls::ServerConfig>,
    actix_tls: rustls::ServerConfig,
    /// One configuration per flawed certificate, for the certificate scenarios.
    bad_tls: Vec<(BadLeaf, Arc<rustls::ServerConfig>)>,
    /// Client identities and client-verifying server configurations (mtls scenarios).
    mtls: MtlsKit,
    runtime: Handle,
    stop: watch::Receiver<bool>,
    actix: Vec<ActixStarter>,
    addrs: Vec<SocketAddr>,
    /// The lab database, opened by the first scenario that keeps state.
    db: std::sync::OnceLock<sqlx::SqlitePool>,
}

impl LabContext {
    pub(crate) fn new(
        dir: &Path,
        ca_cert_path: &Path,
        pki: &Pki,
        runtime: Handle,
        stop: watch::Receiver<bool>,
    ) -> Result<LabContext, LabError> {
        Ok(LabContext {
            methods: Arc::new(MethodCounter::default()),
            dir: dir.to_owned(),
            ca_cert_path: ca_cert_path.to_owned(),
            axum_tls: Arc::new(pki.server_config(&[b"h2", b"http/1.1"])?),
            // actix-http prepends "h2" and "http/1.1" itself; setting them here
            // would list them twice.
            actix_tls: pki.server_config(&[])?,
            bad_tls: [BadLeaf::SelfSigned, BadLeaf::Expired, BadLeaf::WrongName]
                .into_iter()
                .map(|kind| Ok((kind, Arc::new(pki.bad_server_config(kind, &[b"h2", b"http/1.1"])?))))
                .collect::<Result<_, LabError>>()?,
            mtls: pki.mtls_kit(dir)?,
            runtime,
            stop,
            actix: Vec::new(),
            addrs: Vec::new(),
            db: std::sync::OnceLock::new(),
        })
    }

    /// The lab-wide method counter.
    pub(crate) fn methods(&self) -> Arc<MethodCounter> {
        Arc::clone(&self.methods)
    }

    /// Wraps a router so every request's method is counted.
    fn counted(&self, router: axum::Router) -> axum::Router {
        let methods = self.methods();
        router.layer(axum::middleware::from_fn(move |request: axum::extract::Request, next: axum::middleware::Next| {
            methods.count(request.method().as_str());
            next.run(request)
        }))
    }

    /// The lab database (see [`crate::db`]), opened on first use.
    pub(crate) fn db(&self) -> Result<sqlx::SqlitePool, LabError> {
        if let Some(pool) = self.db.get() {
            return Ok(pool.clone());
        }
        let pool = crate::db::open(&self.dir, &self.runtime)?;
        Ok(self.db.get_or_init(|| pool).clone())
    }

    /// The lab's temporary directory (for per-target files such as identities).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every listener bound so far.
    pub(crate) fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// `["--ca-cert", "<dir>/ca.pem"]`, the start of every target's scan_args.
    pub(crate) fn ca_args(&self) -> Vec<String> {
        vec!["--ca-cert".to_owned(), self.ca_cert_path.display().to_string()]
    }

    /// Serves `router` over HTTPS (h2 and HTTP/1.1) on a fresh loopback port,
    /// with the lab's [baseline security headers](BASELINE_HEADERS).
    pub(crate) fn serve_axum(&mut self, router: axum::Router) -> Result<SocketAddr, LabError> {
        self.serve_axum_tls(hardened_axum(router), Arc::clone(&self.axum_tls), true)
    }

    /// Like [`serve_axum`](Self::serve_axum) without the baseline security
    /// headers: for the scenarios about those headers, whose routers set
    /// exactly what each variant sends.
    pub(crate) fn serve_axum_bare(&mut self, router: axum::Router) -> Result<SocketAddr, LabError> {
        self.serve_axum_tls(router, Arc::clone(&self.axum_tls), true)
    }

    /// Like [`serve_axum`](Self::serve_axum) presenting a deliberately flawed
    /// certificate. The readiness probe (which trusts the lab CA) skips it: the
    /// listener is bound before this returns, so connections queue until the
    /// accept loop runs.
    pub(crate) fn serve_axum_bad_cert(&mut self, router: axum::Router, leaf: BadLeaf) -> Result<SocketAddr, LabError> {
        let config = match self.bad_tls.iter().find(|(kind, _)| *kind == leaf) {
            Some((_, config)) => Arc::clone(config),
            None => return Err(LabError::Stopped),
        };
        self.serve_axum_tls(hardened_axum(router), config, false)
    }

    /// The mtls scenarios' `mortar.toml` with the client-certificate identities.
    pub(crate) fn mtls_config_path(&self) -> &Path {
        &self.mtls.config_path
    }

    /// The lab CA certificate and key, for scans that issue client certificates.
    pub(crate) fn client_ca_paths(&self) -> (&Path, &Path) {
        (&self.ca_cert_path, &self.mtls.ca_key_path)
    }

    /// Serves `router` (with the baseline headers) over HTTPS verifying client
    /// certificates as `mode` says; each request carries the connection's
    /// [`PeerCert`] as an extension. Not probed for readiness (the probe has no
    /// client certificate); the listener is bound before this returns.
    pub(crate) fn serve_axum_mtls(&mut self, router: axum::Router, mode: ClientAuth) -> Result<SocketAddr, LabError> {
        let (listener, addr) = bind_loopback()?;
        let acceptor = TlsAcceptor::from(self.mtls.server_config(mode));
        let router = self.counted(hardened_axum(router));
        self.runtime.spawn(axum_mtls_accept_loop(listener, acceptor, router, self.stop.clone()));
        Ok(addr)
    }

    /// Like [`serve_axum`](Self::serve_axum) with TLS 1.3 early data (0-RTT)
    /// accepted when `early_data` (the flaw of the early-data scenario).
    pub(crate) fn serve_axum_early_data(
        &mut self,
        router: axum::Router,
        early_data: bool,
    ) -> Result<SocketAddr, LabError> {
        let mut config = (*self.axum_tls).clone();
        config.max_early_data_size = if early_data { 16 * 1024 } else { 0 };
        self.serve_axum_tls(hardened_axum(router), Arc::new(config), true)
    }

    fn serve_axum_tls(
        &mut self,
        router: axum::Router,
        tls: Arc<rustls::ServerConfig>,
        probe_ready: bool,
    ) -> Result<SocketAddr, LabError> {
        let (listener, addr) = bind_loopback()?;
        let acceptor = TlsAcceptor::from(tls);
        let router = self.counted(router);
        self.runtime.spawn(axum_accept_loop(listener, acceptor, router, self.stop.clone()));
        if probe_ready {
            self.addrs.push(addr);
        }
        Ok(addr)
    }

    /// Serves `router` over plain HTTP/1.1 (and h2c) with the baseline
    /// security headers: for the scenarios about plaintext HTTP.
    pub(crate) fn serve_axum_http(&mut self, router: axum::Router) -> Result<SocketAddr, LabError> {
        self.serve_axum_plain(hardened_axum(router))
    }

    /// Serves `router` over plain TCP (HTTP/1.1 and h2c with prior knowledge)
    /// on a fresh loopback port, as is (the benchmark endpoints; scenarios use
    /// [`serve_axum_http`](Self::serve_axum_http)).
    pub(crate) fn serve_axum_plain(&mut self, router: axum::Router) -> Result<SocketAddr, LabError> {
        let (listener, addr) = bind_loopback()?;
        let router = self.counted(router);
        self.runtime.spawn(axum_plain_accept_loop(listener, router, self.stop.clone()));
        Ok(addr)
    }

    /// Serves the actix `App` built by `factory` over HTTPS on a fresh
    /// loopback port, with the lab's [baseline security headers](BASELINE_HEADERS).
    /// The server starts with the other actix servers once all scenarios are set up.
    pub(crate) fn serve_actix<F, T, B>(&mut self, factory: F) -> Result<SocketAddr, LabError>
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        self.serve_actix_with(factory, true)
    }

    /// Like [`serve_actix`](Self::serve_actix) without the baseline security
    /// headers, for the scenarios about those headers.
    pub(crate) fn serve_actix_bare<F, T, B>(&mut self, factory: F) -> Result<SocketAddr, LabError>
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        self.serve_actix_with(factory, false)
    }

    fn serve_actix_with<F, T, B>(&mut self, factory: F, hardened: bool) -> Result<SocketAddr, LabError>
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        let (listener, addr) = bind_loopback()?;
        let tls = self.actix_tls.clone();
        let methods = self.methods();
        let factory = move || {
            let methods = Arc::clone(&methods);
            factory().wrap_fn(move |request, service| {
                methods.count(request.method().as_str());
                let call = actix_web::dev::Service::call(service, request);
                async move {
                    let mut response = call.await?;
                    if hardened {
                        let headers = response.headers_mut();
                        for (name, value) in BASELINE_HEADERS {
                            let name = actix_web::http::header::HeaderName::from_static(name);
                            if !headers.contains_key(&name) {
                                headers.insert(name, actix_web::http::header::HeaderValue::from_static(value));
                            }
                        }
                    }
                    Ok(response)
                }
            })
        };
        self.actix.push(Box::new(move || {
            Ok(HttpServer::new(factory)
                .workers(ACTIX_WORKERS)
                // The CLI owns signal handling; actix must not exit on Ctrl-C.
                .disable_signals()
                .shutdown_timeout(1)
                .listen_rustls_0_23(listener, tls)?
                .run())
        }));
        self.addrs.push(addr);
        Ok(addr)
    }
}

impl LabContext {
    /// Serves the actix `App` built by `factory` (with the baseline headers)
    /// over HTTPS verifying client certificates as `mode` says; handlers find
    /// the connection's [`PeerCert`] with `req.conn_data::<PeerCert>()`. Not
    /// probed for readiness (the probe has no client certificate).
    pub(crate) fn serve_actix_mtls<F, T, B>(&mut self, factory: F, mode: ClientAuth) -> Result<SocketAddr, LabError>
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        let (listener, addr) = bind_loopback()?;
        let mut tls = (*self.mtls.server_config(mode)).clone();
        // actix-http lists h2 and http/1.1 itself.
        tls.alpn_protocols.clear();
        let methods = self.methods();
        let factory = move || {
            let methods = Arc::clone(&methods);
            factory().wrap_fn(move |request, service| {
                methods.count(request.method().as_str());
                let call = actix_web::dev::Service::call(service, request);
                async move {
                    let mut response = call.await?;
                    let headers = response.headers_mut();
                    for (name, value) in BASELINE_HEADERS {
                        let name = actix_web::http::header::HeaderName::from_static(name);
                        if !headers.contains_key(&name) {
                            headers.insert(name, actix_web::http::header::HeaderValue::from_static(value));
                        }
                    }
                    Ok(response)
                }
            })
        };
        self.actix.push(Box::new(move || {
            Ok(HttpServer::new(factory)
                .workers(ACTIX_WORKERS)
                .disable_signals()
                .shutdown_timeout(1)
                .on_connect(|conn, extensions| {
                    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
                    if let Some(tls) = conn.downcast_ref::<Tls>() {
                        let peer = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
                        extensions.insert(PeerCert(peer));
                    }
                })
                .listen_rustls_0_23(listener, tls)?
                .run())
        }));
        Ok(addr)
    }
}

/// Security headers every lab response carries unless the scenario sets them
/// itself or is served "bare" (the scenarios about these very headers): the
/// lab's targets differ from their fixed variant only by their own flaw, so
/// the header checks must not fire on every target of every other scenario.
/// (lower-case name, value).
pub(crate) const BASELINE_HEADERS: &[(&str, &str)] = &[
    ("strict-transport-security", "max-age=31536000"),
    ("x-content-type-options", "nosniff"),
    ("content-security-policy", "frame-ancestors 'none'"),
];

/// Adds [`BASELINE_HEADERS`] to every response of `router` that lacks them.
fn hardened_axum(router: axum::Router) -> axum::Router {
    router.layer(axum::middleware::from_fn(
        |request: axum::extract::Request, next: axum::middleware::Next| async move {
            let mut response = next.run(request).await;
            let headers = response.headers_mut();
            for (name, value) in BASELINE_HEADERS {
                headers
                    .entry(axum::http::HeaderName::from_static(name))
                    .or_insert(axum::http::HeaderValue::from_static(value));
            }
            response
        },
    ))
}

/// Binds 127.0.0.1:0 (never any other address) and reports the port.
fn bind_loopback() -> Result<(StdTcpListener, SocketAddr), LabError> {
    let listener = StdTcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(LabError::Bind)?;
    listener.set_nonblocking(true).map_err(LabError::Bind)?;
    let addr = listener.local_addr().map_err(LabError::Bind)?;
    Ok((listener, addr))
}

/// Accepts TLS connections and serves them with hyper until told to stop.
/// Failed accepts and handshakes are logged and skipped, never fatal.
async fn axum_accept_loop(
    listener: StdTcpListener,
    acceptor: TlsAcceptor,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(err) => {
            tracing::error!(error = %err, "lab: cannot register listener");
            return;
        }
    };
    // Owning the connections here means leaving the loop aborts them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // Err means the Lab is gone: stop as well.
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // E.g. EMFILE: back off instead of spinning.
                        tracing::warn!(error = %err, "lab: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                connections.spawn(async move {
                    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "lab: TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let service = TowerToHyperService::new(router);
                    if let Err(err) = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await
                    {
                        tracing::debug!(%peer, error = %err, "lab: connection ended with an error");
                    }
                });
            }
        }
    }
}

/// The leaf certificate (DER) the client presented on this connection, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerCert(pub Option<Vec<u8>>);

/// Like `axum_accept_loop`, adding the connection's [`PeerCert`] to every request.
async fn axum_mtls_accept_loop(
    listener: StdTcpListener,
    acceptor: TlsAcceptor,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                connections.spawn(async move {
                    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await else {
                        return;
                    };
                    let peer = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
                    let router = router.layer(axum::Extension(PeerCert(peer)));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(router))
                        .await;
                });
            }
        }
    }
}

/// Accepts plain TCP connections (HTTP/1.1 or h2c) until told to stop.
async fn axum_plain_accept_loop(listener: StdTcpListener, router: axum::Router, mut stop: watch::Receiver<bool>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(err) => {
            tracing::error!(error = %err, "lab: cannot register listener");
            return;
        }
    };
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let service = TowerToHyperService::new(router.clone());
                connections.spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tcp), service).await;
                });
            }
        }
    }
}

/// The running servers. Dropping it stops them all without blocking for long.
pub(crate) struct Servers {
    runtime: Option<Runtime>,
    stop: Arc<watch::Sender<bool>>,
    actix: Option<ActixThread>,
}

impl Servers {
    /// A dedicated runtime for the axum targets, so the lab does not compete
    /// with (or depend on) the caller's runtime.
    pub(crate) fn new() -> Result<Servers, LabError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mortar-lab")
            .enable_all()
            .build()
            .map_err(LabError::Runtime)?;
        let (stop, _) = watch::channel(false);
        Ok(Servers { runtime: Some(runtime), stop: Arc::new(stop), actix: None })
    }

    pub(crate) fn handle(&self) -> Result<Handle, LabError> {
        self.runtime.as_ref().map(|rt| rt.handle().clone()).ok_or(LabError::Stopped)
    }

    pub(crate) fn stop_receiver(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Starts every actix server collected in `ctx` on one actix System thread.
    pub(crate) async fn start_actix(&mut self, ctx: &mut LabContext) -> Result<(), LabError> {
        let starters = std::mem::take(&mut ctx.actix);
        if !starters.is_empty() {
            self.actix = Some(ActixThread::spawn(starters).await?);
        }
        Ok(())
    }

    /// Stops everything after `lifetime`.
    pub(crate) fn stop_after(&self, lifetime: Duration) -> Result<(), LabError> {
        let stop = Arc::clone(&self.stop);
        let actix = self.actix.as_ref().map(|a| a.handles.clone()).unwrap_or_default();
        self.handle()?.spawn(async move {
            tokio::time::sleep(lifetime).await;
            stop.send_replace(true);
            for handle in actix {
                handle.stop(false).await;
            }
        });
        Ok(())
    }

    /// Resolves once the servers have been told to stop.
    pub(crate) async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        // Err only if the sender is gone, which also means stopped.
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(actix) = self.actix.take() {
            actix.stop();
        }
        if let Some(runtime) = self.runtime.take() {
            // Tokio refuses to wait for a runtime from inside async code, so
            // wait on another thread: the listeners are closed when the
            // workers are gone. Bounded, in case a task does not yield.
            // The runtime travels by channel so that a failed spawn leaves it
            // here (dropping it inside the closure would panic).
            let (runtime_tx, runtime_rx) = mpsc::channel::<Runtime>();
            let (done_tx, done) = mpsc::channel();
            let spawned = std::thread::Builder::new().name("mortar-lab-stop".to_owned()).spawn(move || {
                if let Ok(runtime) = runtime_rx.recv() {
                    runtime.shutdown_timeout(RUNTIME_STOP_WAIT);
                }
                let _ = done_tx.send(());
            });
            match spawned {
                Ok(_) => match runtime_tx.send(runtime) {
                    Ok(()) => {
                        let _ = done.recv_timeout(RUNTIME_STOP_WAIT + Duration::from_millis(500));
                    }
                    Err(mpsc::SendError(runtime)) => runtime.shutdown_background(),
                },
                Err(_) => runtime.shutdown_background(),
            }
        }
    }
}

/// The thread running the actix System and its servers.
struct ActixThread {
    handles: Vec<ServerHandle>,
    done: mpsc::Receiver<()>,
}

impl ActixThread {
    async fn spawn(starters: Vec<ActixStarter>) -> Result<ActixThread, LabError> {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (done_tx, done) = mpsc::channel();
        std::thread::Builder::new()
            .name("mortar-lab-actix".to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let mut servers = Vec::with_capacity(starters.len());
                    for start in starters {
                        match start() {
                            Ok(server) => servers.push(server),
                            Err(err) => {
                                for server in &servers {
                                    server.handle().stop(false).await;
                                }
                                let _ = started_tx.send(Err(err));
                                return;
                            }
                        }
                    }
                    let handles = servers.iter().map(|s| s.handle()).collect();
                    let _ = started_tx.send(Ok(handles));
                    for result in futures::future::join_all(servers).await {
                        if let Err(err) = result {
                            tracing::warn!(error = %err, "lab: actix server failed");
                        }
                    }
                });
                let _ = done_tx.send(());
            })
            .map_err(LabError::Runtime)?;
        let handles = started_rx.await.map_err(|_| LabError::Stopped)?.map_err(LabError::Actix)?;
        Ok(ActixThread { handles, done })
    }

    /// Stops the servers (the command is sent before `stop` returns its
    /// future) and waits a bounded time for the thread to finish.
    fn stop(self) {
        for handle in &self.handles {
            drop(handle.stop(false));
        }
        let _ = self.done.recv_timeout(ACTIX_STOP_WAIT);
    }
}

/// Returns once every address completes a TLS handshake with the lab CA, so
/// callers can scan right away.
pub(crate) async fn wait_ready(pki: &Pki, addrs: &[SocketAddr]) -> Result<(), LabError> {
    let connector = TlsConnector::from(Arc::new(pki.client_config()?));
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    for &addr in addrs {
        loop {
            let attempt = async {
                let tcp = tokio::net::TcpStream::connect(addr).await?;
                let name = ServerName::IpAddress(addr.ip().into());
                connector.connect(name, tcp).await.map(drop)
            };
            let err = match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(())) => break,
                Ok(Err(err)) => err,
                Err(_) => io::Error::new(io::ErrorKind::TimedOut, "timed out"),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(LabError::NotReady { addr, source: err });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

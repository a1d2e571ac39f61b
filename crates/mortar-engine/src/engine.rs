//! The engine: limits, pooling, protocol choice, retries and redirects.

use crate::EngineError;
use crate::connect::{Connected, connect};
use crate::h1::{self, H1Conn};
use crate::redact::Redactor;
use crate::request::{Exchange, HttpVersion, HttpVersionPref, Origin, Request, Response, SentRequest};
use crate::tls::{self, RecordingVerifier, TlsInfo, TlsSettings};
use bytes::Bytes;
use mortar_model::{Evidence, Identity, Stats};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// An HTTP proxy (`--proxy http://host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// Proxy host.
    pub host: String,
    /// Proxy port.
    pub port: u16,
}

impl ProxyConfig {
    /// Parses `http://host:port` (only plain HTTP proxies are supported).
    pub fn parse(url: &str) -> Result<ProxyConfig, String> {
        let rest =
            url.strip_prefix("http://").ok_or_else(|| format!("proxy `{url}` must be an http://host:port URL"))?;
        let authority = rest.trim_end_matches('/');
        match mortar_model::target::split_host_port(authority) {
            Some((host, Some(port))) if !host.is_empty() => Ok(ProxyConfig { host, port }),
            Some((host, None)) if !host.is_empty() => Ok(ProxyConfig { host, port: 8080 }),
            _ => Err(format!("proxy `{url}` has no valid host and port")),
        }
    }
}

/// Limits and transport settings of a scan.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Requests per second, if limited.
    pub rate: Option<f64>,
    /// Per-request timeout (connect to end of body).
    pub timeout: Duration,
    /// Whole-scan deadline.
    pub deadline: Option<Instant>,
    /// Most requests the scan may send.
    pub max_requests: Option<u64>,
    /// Largest body kept, after decompression, in bytes.
    pub max_body: usize,
    /// Largest body excerpt kept in evidence, in bytes.
    pub evidence_body_cap: usize,
    /// Hosts that may be contacted (the target's first).
    pub scope_hosts: Vec<String>,
    /// HTTP proxy; environment proxies are never read.
    pub proxy: Option<ProxyConfig>,
    /// Trust settings.
    pub tls: TlsSettings,
    /// User-Agent sent when a request sets none.
    pub user_agent: String,
    /// Retries after a 429.
    pub max_retries: u32,
    /// Longest wait after a 429.
    pub max_backoff: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 8,
            rate: None,
            timeout: Duration::from_secs(10),
            deadline: None,
            max_requests: None,
            max_body: 1024 * 1024,
            evidence_body_cap: 4096,
            scope_hosts: Vec::new(),
            proxy: None,
            tls: TlsSettings::default(),
            user_agent: format!("mortar/{}", env!("CARGO_PKG_VERSION")),
            max_retries: 2,
            max_backoff: Duration::from_secs(30),
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    responses: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    rate_limited: AtomicU64,
    retries: AtomicU64,
    out_of_scope: AtomicU64,
    over_budget: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    deadline_reached: AtomicBool,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    origin: Origin,
    identity: Option<String>,
}

struct PooledH1 {
    conn: H1Conn,
    tls: Option<TlsInfo>,
}

#[derive(Clone)]
struct PooledH2 {
    send: h2::client::SendRequest<Bytes>,
    tls: Option<TlsInfo>,
}

/// Which ALPN list a client configuration offers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Alpn {
    Http1,
    Http2,
    Both,
}

impl Alpn {
    fn protocols(self) -> &'static [&'static [u8]] {
        match self {
            Alpn::Http1 => &[b"http/1.1"],
            Alpn::Http2 => &[b"h2"],
            Alpn::Both => &[b"h2", b"http/1.1"],
        }
    }
}

/// Header names and values, in order.
type Headers = Vec<(String, Vec<u8>)>;

/// Client configurations by (identity with a client certificate, ALPN list).
type TlsConfigCache = Mutex<HashMap<(Option<String>, Alpn), Arc<rustls::ClientConfig>>>;

struct Inner {
    config: EngineConfig,
    verifier: Arc<RecordingVerifier>,
    tls_configs: TlsConfigCache,
    permits: Semaphore,
    next_slot: Mutex<Instant>,
    paused_until: Mutex<Option<Instant>>,
    counters: Counters,
    per_tag: Mutex<BTreeMap<&'static str, u64>>,
    outage: crate::outage::OutageWatch,
    h1_pool: Mutex<HashMap<PoolKey, Vec<PooledH1>>>,
    h2_pool: Mutex<HashMap<PoolKey, PooledH2>>,
    redactor: Redactor,
}

/// The scan's HTTP engine. Cheap to clone; clones share limits, pools and counters.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

impl Engine {
    /// Builds an engine. `identities` are every identity whose secrets must be redacted.
    pub fn new(config: EngineConfig, identities: &[Arc<Identity>]) -> Result<Engine, EngineError> {
        let verifier = tls::build_verifier(&config.tls)?;
        // Client certificates are parsed now so a bad one fails before the scan.
        for id in identities {
            if let Some(cc) = &id.client_cert {
                tls::client_config(verifier.clone(), Alpn::Http1.protocols(), Some(cc))?;
            }
        }
        let permits = Semaphore::new(config.concurrency.max(1));
        Ok(Engine {
            inner: Arc::new(Inner {
                verifier,
                tls_configs: Mutex::new(HashMap::new()),
                permits,
                next_slot: Mutex::new(Instant::now()),
                paused_until: Mutex::new(None),
                counters: Counters::default(),
                per_tag: Mutex::new(BTreeMap::new()),
                outage: Default::default(),
                h1_pool: Mutex::new(HashMap::new()),
                h2_pool: Mutex::new(HashMap::new()),
                redactor: Redactor::new(identities),
                config,
            }),
        })
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            requests: c.requests.load(Ordering::SeqCst),
            responses: c.responses.load(Ordering::SeqCst),
            errors: c.errors.load(Ordering::SeqCst),
            timeouts: c.timeouts.load(Ordering::SeqCst),
            rate_limited: c.rate_limited.load(Ordering::SeqCst),
            retries: c.retries.load(Ordering::SeqCst),
            out_of_scope: c.out_of_scope.load(Ordering::SeqCst),
            over_budget: c.over_budget.load(Ordering::SeqCst),
            bytes_sent: c.bytes_sent.load(Ordering::SeqCst),
            bytes_received: c.bytes_received.load(Ordering::SeqCst),
            deadline_reached: c.deadline_reached.load(Ordering::SeqCst),
        }
    }

    /// The longest run of requests that could not connect after the target
    /// had answered (the target crashed or restarted mid-scan), if any.
    pub fn outage(&self) -> Option<crate::Outage> {
        self.inner.outage.longest()
    }

    /// Requests sent per check tag.
    pub fn requests_by_tag(&self) -> BTreeMap<&'static str, u64> {
        self.inner.per_tag.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The redactor for this scan's secrets.
    pub fn redactor(&self) -> &Redactor {
        &self.inner.redactor
    }

    /// Evidence from an exchange, redacted and capped.
    pub fn evidence(&self, exchange: &Exchange, note: impl Into<String>) -> Evidence {
        self.inner.redactor.evidence(exchange, note, self.inner.config.evidence_body_cap)
    }

    /// Whether a host may be contacted.
    pub fn in_scope(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.inner.config.scope_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Time left before the deadline, if one is set.
    pub fn time_left(&self) -> Option<Duration> {
        self.inner.config.deadline.map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// A client configuration as the engine would build it for `identity`
    /// (ALPN http/1.1), for checks that need to adjust one.
    pub fn tls_config_for(&self, identity: Option<&Identity>) -> Result<Arc<rustls::ClientConfig>, EngineError> {
        self.tls_config(identity, Alpn::Http1)
    }

    fn tls_config(&self, identity: Option<&Identity>, alpn: Alpn) -> Result<Arc<rustls::ClientConfig>, EngineError> {
        let cert = identity.and_then(|i| i.client_cert.as_ref());
        let key = (cert.and(identity.map(|i| i.name.clone())), alpn);
        if let Some(config) = self.inner.tls_configs.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(config);
        }
        let config = tls::client_config(self.inner.verifier.clone(), alpn.protocols(), cert)?;
        if let Ok(mut m) = self.inner.tls_configs.lock() {
            m.insert(key, config.clone());
        }
        Ok(config)
    }

    /// Sends a request under every limit of the scan, following in-scope
    /// redirects when the request asks for it.
    pub async fn send(&self, request: Request) -> Result<Exchange, EngineError> {
        let mut request = request;
        let mut followed = Vec::new();
        loop {
            let mut exchange = self.send_with_retries(&request).await?;
            let status = exchange.response.status;
            let can_follow = followed.len() < request.options.follow_redirects as usize
                && REDIRECT_STATUSES.contains(&status)
                && (request.method == "GET" || request.method == "HEAD");
            let location = exchange.response.header("location");
            match (can_follow, location) {
                (true, Some(location)) => {
                    let Some((origin, target)) = resolve_location(&request.origin, &request.target, &location) else {
                        exchange.response.redirects = followed;
                        return Ok(exchange);
                    };
                    if !self.in_scope(&origin.host) {
                        exchange.response.blocked_redirect = Some(location);
                        exchange.response.redirects = followed;
                        return Ok(exchange);
                    }
                    followed.push(location);
                    request.origin = origin;
                    request.target = target;
                    request.raw = None;
                }
                _ => {
                    exchange.response.redirects = followed;
                    return Ok(exchange);
                }
            }
        }
    }

    async fn send_with_retries(&self, request: &Request) -> Result<Exchange, EngineError> {
        let mut attempt = 0u32;
        let mut reconnects = 0u32;
        loop {
            let exchange = match self.send_once(request).await {
                Ok(exchange) => exchange,
                // The target answered before and now refuses connections: a
                // crashed server restarting. Everyone waits a moment and tries
                // again, within the outage's recovery window.
                Err(EngineError::Connect { .. })
                    if !request.options.no_retry && self.inner.outage.may_wait(Instant::now().into_std()) =>
                {
                    let wait = Duration::from_millis(250 << reconnects.min(3));
                    let until = Instant::now() + wait;
                    if let Ok(mut paused) = self.inner.paused_until.lock() {
                        *paused = Some(paused.map_or(until, |p| p.max(until)));
                    }
                    reconnects += 1;
                    self.inner.counters.retries.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if exchange.response.status != 429 {
                return Ok(exchange);
            }
            self.inner.counters.rate_limited.fetch_add(1, Ordering::SeqCst);
            let wait = backoff(&exchange.response, attempt).min(self.inner.config.max_backoff);
            // Every request waits, not only this one: the target asked the scanner to slow down.
            let until = Instant::now() + wait;
            if let Ok(mut paused) = self.inner.paused_until.lock() {
                *paused = Some(paused.map_or(until, |p| p.max(until)));
            }
            let over_deadline = self.inner.config.deadline.is_some_and(|d| until >= d);
            if request.options.no_retry || attempt >= self.inner.config.max_retries || over_deadline {
                return Ok(exchange);
            }
            attempt += 1;
            self.inner.counters.retries.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn send_once(&self, request: &Request) -> Result<Exchange, EngineError> {
        let c = &self.inner.counters;
        if !self.in_scope(&request.origin.host) {
            c.out_of_scope.fetch_add(1, Ordering::SeqCst);
            return Err(EngineError::OutOfScope { host: request.origin.host.clone() });
        }
        let deadline = self.inner.config.deadline;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            c.deadline_reached.store(true, Ordering::SeqCst);
            return Err(EngineError::DeadlineReached);
        }
        let paused = self.inner.paused_until.lock().ok().and_then(|p| *p);
        if let Some(until) = paused {
            self.sleep_until_or_deadline(until).await?;
        }
        if let Some(rate) = self.inner.config.rate.filter(|r| *r > 0.0) {
            let interval = Duration::from_secs_f64(1.0 / rate);
            let slot = match self.inner.next_slot.lock() {
                Ok(mut next) => {
                    let slot = (*next).max(Instant::now());
                    *next = slot + interval;
                    slot
                }
                Err(_) => Instant::now(),
            };
            self.sleep_until_or_deadline(slot).await?;
        }
        let _permit = self.inner.permits.acquire().await.map_err(|_| EngineError::DeadlineReached)?;
        if let Some(limit) = self.inner.config.max_requests {
            if c.requests.fetch_add(1, Ordering::SeqCst) >= limit {
                c.requests.fetch_sub(1, Ordering::SeqCst);
                c.over_budget.fetch_add(1, Ordering::SeqCst);
                return Err(EngineError::BudgetExhausted { limit });
            }
        } else {
            c.requests.fetch_add(1, Ordering::SeqCst);
        }
        if let Some(tag) = request.tag
            && let Ok(mut m) = self.inner.per_tag.lock()
        {
            *m.entry(tag).or_default() += 1;
        }
        let mut limit = request.options.timeout.unwrap_or(self.inner.config.timeout);
        if let Some(d) = deadline {
            limit = limit.min(d.saturating_duration_since(Instant::now()));
        }
        match tokio::time::timeout(limit, self.exchange(request)).await {
            Ok(Ok(exchange)) => {
                c.responses.fetch_add(1, Ordering::SeqCst);
                self.inner.outage.answered();
                Ok(exchange)
            }
            Ok(Err(e)) => {
                c.errors.fetch_add(1, Ordering::SeqCst);
                if matches!(e, EngineError::Connect { .. }) {
                    let line = || {
                        let line = format!("{} {}", request.method, request.target);
                        String::from_utf8_lossy(&self.inner.redactor.redact_bytes(line.as_bytes())).into_owned()
                    };
                    self.inner.outage.refused(line, || e.chain());
                }
                Err(e)
            }
            Err(_) => {
                c.timeouts.fetch_add(1, Ordering::SeqCst);
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    c.deadline_reached.store(true, Ordering::SeqCst);
                    return Err(EngineError::DeadlineReached);
                }
                Err(EngineError::Timeout(limit))
            }
        }
    }

    async fn sleep_until_or_deadline(&self, until: Instant) -> Result<(), EngineError> {
        if let Some(d) = self.inner.config.deadline
            && until >= d
        {
            tokio::time::sleep_until(d).await;
            self.inner.counters.deadline_reached.store(true, Ordering::SeqCst);
            return Err(EngineError::DeadlineReached);
        }
        tokio::time::sleep_until(until).await;
        Ok(())
    }

    /// Headers as they go on the wire over `version`: the request's, then the
    /// identity's, then defaults, and last the identity's signature over all
    /// of them (unless the request is [`RequestOptions::unsigned`]). A probe
    /// that tampers with a signed request starts from these.
    ///
    /// [`RequestOptions::unsigned`]: crate::RequestOptions::unsigned
    pub fn wire_headers(&self, request: &Request, version: HttpVersion) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let signer = request
            .identity
            .as_ref()
            .filter(|_| !request.options.unsigned && request.raw.is_none())
            .and_then(|identity| Some((identity.signing.as_ref()?.signer.as_ref()?, identity.name.as_str())));
        match signer {
            Some((signer, name)) => self.wire_headers_signed_by(request, version, signer, name),
            None => Ok(self.unsigned_headers(request, version)),
        }
    }

    /// The headers of [`wire_headers`](Self::wire_headers) before any
    /// signature, then `signer`'s signature over them: for probes that sign
    /// with another signer than the identity's (another clock or nonce, a
    /// guessed key). `signer_name` names the signer in an error.
    pub fn wire_headers_signed_by(
        &self,
        request: &Request,
        version: HttpVersion,
        signer: &mortar_signing::Signer,
        signer_name: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, EngineError> {
        let mut headers = self.unsigned_headers(request, version);
        let authority = request.origin.authority();
        let view_headers: Vec<(String, String)> =
            headers.iter().map(|(n, v)| (n.clone(), String::from_utf8_lossy(v).into_owned())).collect();
        let view = mortar_signing::RequestView {
            method: &request.method,
            scheme: request.origin.scheme(),
            // HTTP/2 carries no Host header: the signer reads `:authority`.
            authority: (version == HttpVersion::Http2).then_some(authority.as_str()),
            target: &request.target,
            headers: &view_headers,
            body: &request.body,
        };
        let signature =
            signer.sign(&view).map_err(|source| EngineError::Signing { identity: signer_name.to_string(), source })?;
        for (name, value) in signature.0 {
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
            headers.push((name, value.into_bytes()));
        }
        Ok(headers)
    }

    fn unsigned_headers(&self, request: &Request, version: HttpVersion) -> Vec<(String, Vec<u8>)> {
        let mut headers = Vec::new();
        let has = |headers: &[(String, Vec<u8>)], name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if version != HttpVersion::Http2 && request.header_value("host").is_none() {
            headers.push(("Host".to_string(), request.origin.authority().into_bytes()));
        }
        headers.extend(request.headers.iter().cloned());
        if let Some(identity) = &request.identity {
            for h in &identity.headers {
                // A check that sets the header itself (e.g. a malformed token) wins.
                if !has(&headers, &h.name) {
                    headers.push((h.name.clone(), h.value.expose().to_vec()));
                }
            }
            if let Some((name, value)) = identity.session_header()
                && !has(&headers, &name)
            {
                headers.push((name, value));
            }
        }
        if !has(&headers, "user-agent") {
            headers.push(("User-Agent".to_string(), self.inner.config.user_agent.clone().into_bytes()));
        }
        if !has(&headers, "accept") {
            headers.push(("Accept".to_string(), b"*/*".to_vec()));
        }
        if !has(&headers, "accept-encoding") {
            headers.push(("Accept-Encoding".to_string(), b"gzip, deflate".to_vec()));
        }
        let needs_length = !request.body.is_empty() || matches!(request.method.as_str(), "POST" | "PUT" | "PATCH");
        if version != HttpVersion::Http2
            && needs_length
            && !has(&headers, "content-length")
            && !has(&headers, "transfer-encoding")
        {
            headers.push(("Content-Length".to_string(), request.body.len().to_string().into_bytes()));
        }
        headers
    }

    async fn exchange(&self, request: &Request) -> Result<Exchange, EngineError> {
        let key = PoolKey {
            origin: request.origin.clone(),
            identity: request.identity.as_ref().filter(|i| i.client_cert.is_some()).map(|i| i.name.clone()),
        };
        let pooling =
            !request.options.fresh_connection && request.options.tls.is_none() && request.options.io_wrapper.is_none();
        let want = request.options.http;
        if want != HttpVersionPref::Http1 && pooling {
            let pooled = self.inner.h2_pool.lock().ok().and_then(|m| m.get(&key).cloned());
            if let Some(h2) = pooled {
                match self.h2_exchange(request, h2.clone()).await {
                    Ok(ex) => return Ok(ex),
                    // A pooled connection that went away: forget it and open a new one.
                    Err(_) => {
                        if let Ok(mut m) = self.inner.h2_pool.lock() {
                            m.remove(&key);
                        }
                    }
                }
            }
        }
        if want != HttpVersionPref::Http2 && pooling {
            let pooled = self.inner.h1_pool.lock().ok().and_then(|mut m| m.get_mut(&key).and_then(|v| v.pop()));
            if let Some(conn) = pooled {
                match self.h1_exchange(request, conn, &key, pooling).await {
                    Err(EngineError::ClosedWithoutResponse) | Err(EngineError::Io(_)) if is_safe(&request.method) => {}
                    other => return other,
                }
            }
        }
        let alpn = match (want, request.origin.https) {
            (HttpVersionPref::Http1, _) => Alpn::Http1,
            (HttpVersionPref::Http2, _) => Alpn::Http2,
            (HttpVersionPref::Auto, _) => Alpn::Both,
        };
        let tls_config = match (&request.options.tls, request.origin.https) {
            (_, false) => None,
            (Some(config), true) => Some(config.clone()),
            (None, true) => Some(self.tls_config(request.identity.as_deref(), alpn)?),
        };
        let Connected { io, tls } = connect(
            &request.origin,
            self.inner.config.proxy.as_ref(),
            tls_config.map(|c| (c, self.inner.verifier.as_ref())),
            request.options.io_wrapper.as_ref(),
        )
        .await?;
        let negotiated_h2 = tls.as_ref().and_then(|t| t.alpn.as_deref()) == Some("h2");
        let speak_h2 = match want {
            HttpVersionPref::Http2 => true,
            HttpVersionPref::Auto => negotiated_h2,
            HttpVersionPref::Http1 => false,
        };
        if speak_h2 {
            let (send, connection) = h2::client::handshake(io).await.map_err(EngineError::H2)?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            let pooled = PooledH2 { send, tls };
            if pooling && let Ok(mut m) = self.inner.h2_pool.lock() {
                m.insert(key, pooled.clone());
            }
            return self.h2_exchange(request, pooled).await;
        }
        self.h1_exchange(request, PooledH1 { conn: H1Conn::new(io), tls }, &key, pooling).await
    }

    async fn h1_exchange(
        &self,
        request: &Request,
        pooled: PooledH1,
        key: &PoolKey,
        pooling: bool,
    ) -> Result<Exchange, EngineError> {
        let PooledH1 { mut conn, tls } = pooled;
        let headers = self.wire_headers(request, HttpVersion::Http11)?;
        // Through a plain-HTTP proxy the request target is the absolute URL.
        let via_proxy = self.inner.config.proxy.is_some() && !request.origin.https;
        let target = if via_proxy { request.url() } else { request.target.clone() };
        let bytes = match &request.raw {
            Some(raw) => raw.clone(),
            None => h1::serialize(&request.method, &target, &headers, &request.body),
        };
        let sent = match &request.raw {
            Some(raw) => describe_raw(raw, &request.origin),
            None => SentRequest {
                method: request.method.clone(),
                url: request.url(),
                version: HttpVersion::Http11,
                headers,
                body: request.body.clone(),
            },
        };
        let started = Instant::now();
        conn.write(&bytes).await?;
        self.inner.counters.bytes_sent.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        let max_body = self.inner.config.max_body;
        let read = conn.read_response(request.method.eq_ignore_ascii_case("HEAD"), max_body).await?;
        self.inner.counters.bytes_received.fetch_add(read.bytes_read, Ordering::SeqCst);
        let encoding = read
            .head
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        let (body, body_truncated) =
            h1::decode_body(encoding.as_deref(), read.body.bytes, max_body, read.body.truncated);
        let response = Response {
            status: read.head.status,
            version: read.head.version,
            headers: read.head.headers,
            body,
            body_truncated,
            elapsed: started.elapsed(),
            tls: tls.clone(),
            redirects: Vec::new(),
            blocked_redirect: None,
        };
        if pooling
            && read.reusable
            && let Ok(mut m) = self.inner.h1_pool.lock()
        {
            let idle = m.entry(key.clone()).or_default();
            if idle.len() < self.inner.config.concurrency.max(1) {
                idle.push(PooledH1 { conn, tls });
            }
        }
        Ok(Exchange { request: sent, response })
    }

    /// The `http::Request` HTTP/2 sends for `request`, and the headers as sent.
    fn h2_request(&self, request: &Request) -> Result<(http::Request<()>, Headers), EngineError> {
        let headers = self.wire_headers(request, HttpVersion::Http2)?;
        let mut builder =
            http::Request::builder().method(request.method.as_str()).uri(request.url()).version(http::Version::HTTP_2);
        for (name, value) in &headers {
            // Connection-specific headers are forbidden in HTTP/2.
            if matches!(
                name.to_ascii_lowercase().as_str(),
                "host" | "connection" | "keep-alive" | "transfer-encoding" | "upgrade" | "proxy-connection"
            ) {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_slice());
        }
        let http_request = builder
            .body(())
            .map_err(|e| EngineError::InvalidRequest(format!("HTTP/2 cannot carry this request: {e}")))?;
        Ok((http_request, headers))
    }

    /// Sends `requests` as one synchronized burst (see [`crate::burst`]).
    ///
    /// Every request must go to the same origin; the connection's client
    /// certificate is the first request's identity's. The burst counts all its
    /// requests against `--max-requests` up front and is not limited by
    /// `--concurrency` (a burst's point is to be concurrent).
    pub async fn burst(
        &self,
        requests: Vec<Request>,
        options: crate::burst::BurstOptions,
    ) -> Result<crate::burst::BurstReport, EngineError> {
        use crate::burst::{BurstJob, BurstMode};
        let c = &self.inner.counters;
        let first = requests.first().ok_or_else(|| EngineError::InvalidRequest("a burst needs a request".into()))?;
        let origin = first.origin.clone();
        if requests.iter().any(|r| r.origin != origin) {
            return Err(EngineError::InvalidRequest("every request of a burst must go to the same origin".into()));
        }
        if !self.in_scope(&origin.host) {
            c.out_of_scope.fetch_add(1, Ordering::SeqCst);
            return Err(EngineError::OutOfScope { host: origin.host.clone() });
        }
        if self.inner.config.deadline.is_some_and(|d| Instant::now() >= d) {
            c.deadline_reached.store(true, Ordering::SeqCst);
            return Err(EngineError::DeadlineReached);
        }
        let n = requests.len() as u64;
        if let Some(limit) = self.inner.config.max_requests {
            if c.requests.fetch_add(n, Ordering::SeqCst) + n > limit {
                c.requests.fetch_sub(n, Ordering::SeqCst);
                c.over_budget.fetch_add(n, Ordering::SeqCst);
                return Err(EngineError::BudgetExhausted { limit });
            }
        } else {
            c.requests.fetch_add(n, Ordering::SeqCst);
        }
        if let Ok(mut m) = self.inner.per_tag.lock() {
            for r in &requests {
                if let Some(tag) = r.tag {
                    *m.entry(tag).or_default() += 1;
                }
            }
        }
        let identity = first.identity.clone();
        let tls = if origin.https {
            Some((
                self.tls_config(identity.as_deref(), Alpn::Http2)?,
                self.tls_config(identity.as_deref(), Alpn::Http1)?,
                self.tls_config(identity.as_deref(), Alpn::Both)?,
            ))
        } else {
            None
        };
        let mut h1_wires = Vec::with_capacity(requests.len());
        let mut h1_sent = Vec::with_capacity(requests.len());
        for r in &requests {
            let headers = self.wire_headers(r, HttpVersion::Http11)?;
            let wire = r.raw.clone().unwrap_or_else(|| h1::serialize(&r.method, &r.target, &headers, &r.body));
            h1_sent.push(match &r.raw {
                Some(raw) => describe_raw(raw, &origin),
                None => SentRequest {
                    method: r.method.clone(),
                    url: r.url(),
                    version: HttpVersion::Http11,
                    headers,
                    body: r.body.clone(),
                },
            });
            h1_wires.push(wire);
        }
        let wants_h2 = matches!(options.mode, BurstMode::Auto | BurstMode::SinglePacket);
        let mut h2_requests = None;
        let mut h2_sent = Vec::new();
        if wants_h2 && requests.iter().all(|r| r.raw.is_none()) {
            let mut built = Vec::with_capacity(requests.len());
            for r in &requests {
                let (http_request, headers) = self.h2_request(r)?;
                h2_sent.push(SentRequest {
                    method: r.method.clone(),
                    url: r.url(),
                    version: HttpVersion::Http2,
                    headers: headers.into_iter().filter(|(n, _)| !n.eq_ignore_ascii_case("host")).collect(),
                    body: r.body.clone(),
                });
                built.push((http_request, r.body.clone()));
            }
            h2_requests = Some(built);
        }
        let mut timeout = options.timeout.unwrap_or(self.inner.config.timeout) + options.settle;
        if let Some(left) = self.time_left() {
            timeout = timeout.min(left);
        }
        let job = BurstJob {
            origin,
            proxy: self.inner.config.proxy.clone(),
            tls,
            verifier: self.inner.verifier.clone(),
            h1_wires,
            h1_sent,
            h2_requests,
            h2_sent,
            head_only: requests.iter().map(|r| r.method.eq_ignore_ascii_case("HEAD")).collect(),
            options,
            max_body: self.inner.config.max_body,
            timeout,
        };
        let result = crate::burst::run(job).await;
        match &result {
            Ok(report) => {
                let answered = report.responses.iter().filter(|r| r.status.is_some()).count() as u64;
                c.responses.fetch_add(answered, Ordering::SeqCst);
                c.errors.fetch_add(n - answered, Ordering::SeqCst);
            }
            Err(EngineError::Timeout(_)) => {
                c.timeouts.fetch_add(n, Ordering::SeqCst);
            }
            Err(_) => {
                c.errors.fetch_add(n, Ordering::SeqCst);
            }
        }
        result
    }

    async fn h2_exchange(&self, request: &Request, pooled: PooledH2) -> Result<Exchange, EngineError> {
        let (http_request, headers) = self.h2_request(request)?;
        let url = request.url();
        let mut send = pooled.send.ready().await.map_err(EngineError::H2)?;
        let started = Instant::now();
        let end_of_stream = request.body.is_empty();
        let (response_future, mut stream) = send.send_request(http_request, end_of_stream).map_err(EngineError::H2)?;
        if !end_of_stream {
            stream.send_data(Bytes::from(request.body.clone()), true).map_err(EngineError::H2)?;
        }
        self.inner.counters.bytes_sent.fetch_add(request.body.len() as u64, Ordering::SeqCst);
        let response = response_future.await.map_err(EngineError::H2)?;
        let (parts, mut body) = response.into_parts();
        let max_body = self.inner.config.max_body;
        let mut raw = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(EngineError::H2)?;
            let _ = body.flow_control().release_capacity(chunk.len());
            self.inner.counters.bytes_received.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            let room = max_body - raw.len();
            if chunk.len() > room {
                raw.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            raw.extend_from_slice(&chunk);
        }
        let response_headers: Vec<(String, Vec<u8>)> =
            parts.headers.iter().map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec())).collect();
        let encoding = parts.headers.get("content-encoding").and_then(|v| v.to_str().ok()).map(str::to_string);
        let (body, body_truncated) = h1::decode_body(encoding.as_deref(), raw, max_body, truncated);
        Ok(Exchange {
            request: SentRequest {
                method: request.method.clone(),
                url,
                version: HttpVersion::Http2,
                headers: headers.into_iter().filter(|(n, _)| !n.eq_ignore_ascii_case("host")).collect(),
                body: request.body.clone(),
            },
            response: Response {
                status: parts.status.as_u16(),
                version: HttpVersion::Http2,
                headers: response_headers,
                body,
                body_truncated,
                elapsed: started.elapsed(),
                tls: pooled.tls,
                redirects: Vec::new(),
                blocked_redirect: None,
            },
        })
    }
}

fn is_safe(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// How long to wait after a 429: `Retry-After` (seconds or HTTP date), else 1 s doubling.
fn backoff(response: &Response, attempt: u32) -> Duration {
    if let Some(value) = response.header("retry-after") {
        let value = value.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Duration::from_secs(secs);
        }
        if let Ok(when) = httpdate::parse_http_date(value) {
            return when.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        }
    }
    Duration::from_secs(1u64 << attempt.min(5))
}

/// Resolves a Location header against the current request.
fn resolve_location(origin: &Origin, current_target: &str, location: &str) -> Option<(Origin, String)> {
    if let Some((scheme, rest)) = location.split_once("://") {
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            _ => return None,
        };
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let (host, port) = mortar_model::target::split_host_port(authority)?;
        let port = port.unwrap_or(if https { 443 } else { 80 });
        let path = if path.is_empty() { "/" } else { path };
        return Some((Origin { https, host: host.to_ascii_lowercase(), port }, path.to_string()));
    }
    if let Some(rest) = location.strip_prefix("//") {
        return resolve_location(origin, current_target, &format!("{}://{rest}", origin.scheme()));
    }
    if location.starts_with('/') {
        return Some((origin.clone(), location.to_string()));
    }
    let base = current_target.split('?').next().unwrap_or("/");
    let dir = &base[..base.rfind('/').map(|i| i + 1).unwrap_or(0)];
    Some((origin.clone(), format!("{dir}{location}")))
}

/// Describes exact request bytes for evidence (best effort: they may be malformed on purpose).
fn describe_raw(raw: &[u8], origin: &Origin) -> SentRequest {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(raw) {
        Ok(httparse::Status::Complete(n)) => SentRequest {
            method: parsed.method.unwrap_or("").to_string(),
            url: origin.url(parsed.path.unwrap_or("")),
            version: HttpVersion::Http11,
            headers: parsed.headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect(),
            body: raw[n..].to_vec(),
        },
        _ => SentRequest {
            method: String::new(),
            url: origin.url(""),
            version: HttpVersion::Http11,
            headers: Vec::new(),
            body: raw.to_vec(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_relative_to_the_request() {
        let o = Origin { https: true, host: "api.test".into(), port: 443 };
        assert_eq!(resolve_location(&o, "/a/b?x", "c").unwrap().1, "/a/c");
        assert_eq!(resolve_location(&o, "/a/b", "/z").unwrap().1, "/z");
        let (other, path) = resolve_location(&o, "/", "http://evil.test:8080/x").unwrap();
        assert_eq!((other.host.as_str(), other.port, other.https, path.as_str()), ("evil.test", 8080, false, "/x"));
        assert_eq!(resolve_location(&o, "/", "//cdn.test/p").unwrap().0.host, "cdn.test");
    }

    #[test]
    fn proxy_urls_parse() {
        assert_eq!(
            ProxyConfig::parse("http://127.0.0.1:3128").unwrap(),
            ProxyConfig { host: "127.0.0.1".into(), port: 3128 }
        );
        assert!(ProxyConfig::parse("socks5://x:1").is_err());
    }
}

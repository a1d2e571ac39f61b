//! Synchronized bursts: N requests made to reach the server at the same moment.
//!
//! - **single-packet** (HTTP/2, TLS with ALPN h2 or h2c): every stream's
//!   HEADERS and all but the last body byte go first; after a PING round trip
//!   (the server has read them and its SETTINGS are known) and with flow-control
//!   capacity reserved, every stream's tiny final DATA frame is queued and the
//!   armed [`WriteGate`] hands them to the socket in one write. Batches follow
//!   the server's concurrent-stream limit.
//! - **last-byte** (HTTP/1.1): N pre-opened connections each get their request
//!   minus its last byte, then the last bytes go out back to back.
//! - **naive**: N pre-opened connections write whole requests after a barrier,
//!   the way most tools do; kept as the baseline the others are measured against.
//!
//! A burst runs on its own thread with a single-threaded runtime: between
//! arming the gate and queuing the last frame nothing else can run, which is
//! what makes the release one write.

use crate::EngineError;
use crate::ProxyConfig;
use crate::connect::connect;
use crate::gate::{ChainWrapper, GateWrapper, WriteGate};
use crate::h1::{self, H1Conn};
use crate::io::IoWrapper;
use crate::request::{HttpVersion, Origin, SentRequest};
use crate::tls::{RecordingVerifier, TlsInfo};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a burst is synchronized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BurstMode {
    /// single-packet when the server speaks HTTP/2 over TLS (ALPN), else last-byte.
    #[default]
    Auto,
    /// HTTP/2 single-packet attack.
    SinglePacket,
    /// HTTP/1.1 last-byte synchronization.
    LastByte,
    /// Whole requests after a barrier (baseline).
    Naive,
}

impl BurstMode {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            BurstMode::Auto => "auto",
            BurstMode::SinglePacket => "single-packet",
            BurstMode::LastByte => "last-byte",
            BurstMode::Naive => "naive",
        }
    }
}

impl FromStr for BurstMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BurstMode::Auto),
            "single-packet" | "h2" => Ok(BurstMode::SinglePacket),
            "last-byte" | "h1" => Ok(BurstMode::LastByte),
            "naive" => Ok(BurstMode::Naive),
            _ => Err(format!("unknown burst engine `{s}` (expected auto, single-packet, last-byte or naive)")),
        }
    }
}

/// Options of one burst.
#[derive(Clone)]
pub struct BurstOptions {
    /// How to synchronize.
    pub mode: BurstMode,
    /// Pause after the partial requests, before the release (lets the server parse them).
    pub settle: Duration,
    /// Wraps each socket below the gate (tests count writes with it).
    pub io_wrapper: Option<Arc<dyn IoWrapper>>,
    /// Time limit for the whole burst (connections, release, responses).
    pub timeout: Option<Duration>,
}

impl Default for BurstOptions {
    fn default() -> Self {
        BurstOptions { mode: BurstMode::Auto, settle: Duration::from_millis(100), io_wrapper: None, timeout: None }
    }
}

impl std::fmt::Debug for BurstOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BurstOptions").field("mode", &self.mode).field("settle", &self.settle).finish()
    }
}

/// One response of a burst.
#[derive(Debug, Clone)]
pub struct BurstResponse {
    /// Position of the request in the burst.
    pub index: usize,
    /// Status, when a response came.
    pub status: Option<u16>,
    /// Headers.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body (decoded, capped).
    pub body: Vec<u8>,
    /// Whether the body hit the cap.
    pub body_truncated: bool,
    /// SHA-256 of the body, hex.
    pub body_sha256: String,
    /// When the request's final byte was handed to the socket, ns after the release began.
    pub sent_ns: u64,
    /// When the response head was complete, ns after the release began.
    pub received_ns: Option<u64>,
    /// Why there is no response.
    pub error: Option<String>,
}

/// What a burst did and got.
#[derive(Debug, Clone)]
pub struct BurstReport {
    /// The synchronization used (never `Auto`).
    pub mode: BurstMode,
    /// The protocol spoken.
    pub protocol: HttpVersion,
    /// Requests per batch (more than one batch when the server limits concurrent streams).
    pub batches: Vec<usize>,
    /// The server's concurrent-stream limit, when HTTP/2 and the server announced one.
    pub stream_limit: Option<usize>,
    /// Socket writes each batch's release took (single-packet only; 1 is the goal).
    pub release_writes: Vec<u64>,
    /// Bytes each batch's release wrote (single-packet only).
    pub release_bytes: Vec<u64>,
    /// Responses, in request order.
    pub responses: Vec<BurstResponse>,
    /// The requests as sent (for evidence).
    pub requests: Vec<SentRequest>,
    /// TLS facts of the (first) connection.
    pub tls: Option<TlsInfo>,
}

impl BurstReport {
    /// Last minus first `sent_ns`.
    pub fn send_spread_ns(&self) -> u64 {
        spread(self.responses.iter().map(|r| r.sent_ns))
    }

    /// Last minus first `received_ns` among the responses that came.
    pub fn response_spread_ns(&self) -> u64 {
        spread(self.responses.iter().filter_map(|r| r.received_ns))
    }
}

fn spread(values: impl Iterator<Item = u64>) -> u64 {
    let (min, max) = values.fold((u64::MAX, 0), |(lo, hi), v| (lo.min(v), hi.max(v)));
    max.saturating_sub(min)
}

/// Client configurations offering (h2 only, http/1.1 only, both).
pub(crate) type AlpnConfigs = (Arc<rustls::ClientConfig>, Arc<rustls::ClientConfig>, Arc<rustls::ClientConfig>);

/// Everything a burst thread needs, prepared by the engine.
pub(crate) struct BurstJob {
    pub origin: Origin,
    pub proxy: Option<ProxyConfig>,
    /// TLS configs by ALPN offer.
    pub tls: Option<AlpnConfigs>,
    pub verifier: Arc<RecordingVerifier>,
    pub h1_wires: Vec<Vec<u8>>,
    pub h1_sent: Vec<SentRequest>,
    /// `None` when a request cannot travel over HTTP/2 (exact bytes).
    pub h2_requests: Option<Vec<(http::Request<()>, Vec<u8>)>>,
    pub h2_sent: Vec<SentRequest>,
    pub head_only: Vec<bool>,
    pub options: BurstOptions,
    pub max_body: usize,
    pub timeout: Duration,
}

/// Runs a burst on its own thread and runtime; resolves when it is done.
pub(crate) async fn run(job: BurstJob) -> Result<BurstReport, EngineError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let naive = job.options.mode == BurstMode::Naive;
    let spawned = std::thread::Builder::new().name("mortar-burst".into()).spawn(move || {
        let runtime = if naive {
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
        } else {
            tokio::runtime::Builder::new_current_thread().enable_all().build()
        };
        let result = match runtime {
            Ok(rt) => rt.block_on(async {
                let limit = job.timeout;
                tokio::time::timeout(limit, execute(job)).await.unwrap_or(Err(EngineError::Timeout(limit)))
            }),
            Err(e) => Err(EngineError::Io(e)),
        };
        let _ = tx.send(result);
    });
    spawned.map_err(EngineError::Io)?;
    rx.await.unwrap_or_else(|_| Err(EngineError::Malformed("the burst thread ended without a result".into())))
}

async fn execute(job: BurstJob) -> Result<BurstReport, EngineError> {
    let https = job.origin.https;
    match job.options.mode {
        BurstMode::SinglePacket => {
            let config = job.tls.as_ref().map(|t| t.0.clone());
            single_packet(&job, config).await
        }
        BurstMode::LastByte => last_byte(&job, None).await,
        BurstMode::Naive => naive(&job).await,
        BurstMode::Auto if !https || job.h2_requests.is_none() => last_byte(&job, None).await,
        BurstMode::Auto => {
            // One connection offering both; its ALPN answer picks the engine.
            let gate = WriteGate::new();
            let config = job.tls.as_ref().map(|t| t.2.clone());
            let connected = open(&job, config, Some(gate.clone())).await?;
            let h2 = connected.tls.as_ref().and_then(|t| t.alpn.as_deref()) == Some("h2");
            if h2 { single_packet_on(&job, connected, gate).await } else { last_byte(&job, Some(connected)).await }
        }
    }
}

async fn open(
    job: &BurstJob,
    config: Option<Arc<rustls::ClientConfig>>,
    gate: Option<Arc<WriteGate>>,
) -> Result<crate::connect::Connected, EngineError> {
    let mut wrappers: Vec<Arc<dyn IoWrapper>> = Vec::new();
    if let Some(w) = &job.options.io_wrapper {
        wrappers.push(w.clone());
    }
    if let Some(g) = gate {
        wrappers.push(Arc::new(GateWrapper(g)));
    }
    let chain: Arc<dyn IoWrapper> = Arc::new(ChainWrapper(wrappers));
    let tls = match (job.origin.https, config) {
        (true, Some(c)) => Some((c, job.verifier.as_ref())),
        (true, None) => return Err(EngineError::TlsConfig("no TLS configuration for an https burst".into())),
        (false, _) => None,
    };
    connect(&job.origin, job.proxy.as_ref(), tls, Some(&chain)).await
}

async fn single_packet(job: &BurstJob, config: Option<Arc<rustls::ClientConfig>>) -> Result<BurstReport, EngineError> {
    let gate = WriteGate::new();
    let connected = open(job, config, Some(gate.clone())).await?;
    single_packet_on(job, connected, gate).await
}

async fn single_packet_on(
    job: &BurstJob,
    connected: crate::connect::Connected,
    gate: Arc<WriteGate>,
) -> Result<BurstReport, EngineError> {
    let requests = job
        .h2_requests
        .as_ref()
        .ok_or_else(|| EngineError::InvalidRequest("exact-bytes requests cannot be sent over HTTP/2".into()))?;
    if job.origin.https && connected.tls.as_ref().and_then(|t| t.alpn.as_deref()) != Some("h2") {
        return Err(EngineError::InvalidRequest("the server did not offer HTTP/2 (ALPN h2)".into()));
    }
    let tls = connected.tls.clone();
    let (send, mut connection) = h2::client::Builder::new()
        .initial_window_size(1 << 20)
        .handshake::<_, Bytes>(connected.io)
        .await
        .map_err(EngineError::H2)?;
    let mut ping_pong =
        connection.ping_pong().ok_or_else(|| EngineError::Malformed("HTTP/2 PING is unavailable".into()))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    // The server's SETTINGS come before its PING answer: after it, the stream limit is known.
    ping_pong.ping(h2::Ping::opaque()).await.map_err(EngineError::H2)?;
    let limit = send.current_max_send_streams().max(1);
    let mut report = BurstReport {
        mode: BurstMode::SinglePacket,
        protocol: HttpVersion::Http2,
        batches: Vec::new(),
        // h2 reports "no limit announced" as usize::MAX.
        stream_limit: (limit != usize::MAX).then_some(limit),
        release_writes: Vec::new(),
        release_bytes: Vec::new(),
        responses: Vec::new(),
        requests: job.h2_sent.clone(),
        tls,
    };
    let mut offset = 0;
    for batch in requests.chunks(limit) {
        let mut pending = Vec::with_capacity(batch.len());
        for (request, body) in batch {
            let mut ready = send.clone().ready().await.map_err(EngineError::H2)?;
            let (response, mut stream) = ready.send_request(request.clone(), false).map_err(EngineError::H2)?;
            let split = body.len().saturating_sub(1);
            if split > 0 {
                stream.send_data(Bytes::copy_from_slice(&body[..split]), false).map_err(EngineError::H2)?;
            }
            pending.push((response, stream, Bytes::copy_from_slice(&body[split..])));
        }
        // Answered means the server has read every frame sent before the PING.
        ping_pong.ping(h2::Ping::opaque()).await.map_err(EngineError::H2)?;
        if !job.options.settle.is_zero() {
            tokio::time::sleep(job.options.settle).await;
        }
        // A final frame without window would leave late: reserve it now. A
        // stream the server already ended (it answered before the body was
        // complete) has nothing left to release; its response still counts.
        for (_, stream, last) in &mut pending {
            if last.is_empty() {
                continue;
            }
            stream.reserve_capacity(last.len());
            while stream.capacity() < last.len() {
                match std::future::poll_fn(|cx| stream.poll_capacity(cx)).await {
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        last.clear();
                        break;
                    }
                }
            }
        }
        // The release. No await until every final frame is queued: the
        // connection task (same thread) writes them all in its next turn and
        // the armed gate makes that one socket write.
        let releases_before = gate.releases();
        gate.arm();
        let released = Instant::now();
        for (_, stream, last) in &mut pending {
            // An error here means the server reset the stream: its response future says how.
            let _ = stream.send_data(std::mem::take(last), true);
        }
        let reads = pending
            .into_iter()
            .enumerate()
            .map(|(i, (response, _stream, _))| read_h2(offset + i, response, released, job.max_body));
        let responses = futures::future::join_all(reads).await;
        let released_once = gate.releases() > releases_before;
        report.release_writes.push(if released_once { gate.last_release_writes() } else { 0 });
        report.release_bytes.push(if released_once { gate.last_release_bytes() } else { 0 });
        report.batches.push(batch.len());
        report.responses.extend(responses);
        offset += batch.len();
    }
    Ok(report)
}

async fn read_h2(
    index: usize,
    response: h2::client::ResponseFuture,
    released: Instant,
    max_body: usize,
) -> BurstResponse {
    let response = match response.await {
        Ok(r) => r,
        Err(e) => return failed(index, 0, format!("HTTP/2 error: {e}")),
    };
    let received = released.elapsed().as_nanos() as u64;
    let (parts, mut body) = response.into_parts();
    let mut raw = Vec::new();
    let mut truncated = false;
    while let Some(chunk) = body.data().await {
        match chunk {
            Ok(chunk) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                let room = max_body - raw.len();
                if chunk.len() > room {
                    raw.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                raw.extend_from_slice(&chunk);
            }
            Err(e) => return failed(index, 0, format!("HTTP/2 error in the body: {e}")),
        }
    }
    let encoding = parts.headers.get("content-encoding").and_then(|v| v.to_str().ok()).map(str::to_string);
    let (body, body_truncated) = h1::decode_body(encoding.as_deref(), raw, max_body, truncated);
    BurstResponse {
        index,
        status: Some(parts.status.as_u16()),
        headers: parts.headers.iter().map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec())).collect(),
        body_sha256: digest(&body),
        body,
        body_truncated,
        sent_ns: 0,
        received_ns: Some(received),
        error: None,
    }
}

fn digest(body: &[u8]) -> String {
    Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect()
}

fn failed(index: usize, sent_ns: u64, error: String) -> BurstResponse {
    BurstResponse {
        index,
        status: None,
        headers: Vec::new(),
        body: Vec::new(),
        body_truncated: false,
        body_sha256: digest(&[]),
        sent_ns,
        received_ns: None,
        error: Some(error),
    }
}

/// Opens one HTTP/1.1 connection per request (reusing `first` when given).
async fn h1_connections(
    job: &BurstJob,
    first: Option<crate::connect::Connected>,
) -> Result<(Vec<H1Conn>, Option<TlsInfo>), EngineError> {
    let config = job.tls.as_ref().map(|t| t.1.clone());
    let needed = job.h1_wires.len() - usize::from(first.is_some());
    let opened = futures::future::join_all((0..needed).map(|_| open(job, config.clone(), None))).await;
    let mut conns = Vec::with_capacity(job.h1_wires.len());
    let mut tls = None;
    if let Some(first) = first {
        tls = first.tls.clone();
        conns.push(H1Conn::new(first.io));
    }
    for connected in opened {
        let connected = connected?;
        tls = tls.or(connected.tls.clone());
        conns.push(H1Conn::new(connected.io));
    }
    Ok((conns, tls))
}

async fn read_h1(
    index: usize,
    mut conn: H1Conn,
    head_only: bool,
    released: Instant,
    sent_ns: u64,
    max_body: usize,
) -> BurstResponse {
    match conn.read_response(head_only, max_body).await {
        Ok(read) => {
            let received = released.elapsed().as_nanos() as u64;
            let encoding = read
                .head
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-encoding"))
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned());
            let (body, body_truncated) =
                h1::decode_body(encoding.as_deref(), read.body.bytes, max_body, read.body.truncated);
            BurstResponse {
                index,
                status: Some(read.head.status),
                headers: read.head.headers,
                body_sha256: digest(&body),
                body,
                body_truncated,
                sent_ns,
                received_ns: Some(received),
                error: None,
            }
        }
        Err(e) => failed(index, sent_ns, e.chain()),
    }
}

async fn last_byte(job: &BurstJob, first: Option<crate::connect::Connected>) -> Result<BurstReport, EngineError> {
    let (mut conns, tls) = h1_connections(job, first).await?;
    let mut errors: Vec<Option<String>> = vec![None; conns.len()];
    for (i, (conn, wire)) in conns.iter_mut().zip(&job.h1_wires).enumerate() {
        let cut = wire.len().saturating_sub(1);
        if let Err(e) = conn.write(&wire[..cut]).await {
            errors[i] = Some(e.chain());
        }
    }
    if !job.options.settle.is_zero() {
        tokio::time::sleep(job.options.settle).await;
    }
    // The last bytes, back to back: each write completes at once on a writable socket.
    let released = Instant::now();
    let mut sent = vec![0u64; conns.len()];
    for (i, (conn, wire)) in conns.iter_mut().zip(&job.h1_wires).enumerate() {
        if errors[i].is_some() {
            continue;
        }
        let cut = wire.len().saturating_sub(1);
        if let Err(e) = conn.write(&wire[cut..]).await {
            errors[i] = Some(e.chain());
        }
        sent[i] = released.elapsed().as_nanos() as u64;
    }
    let reads = conns.into_iter().enumerate().map(|(i, conn)| {
        let error = errors[i].take();
        let head_only = job.head_only[i];
        let sent_ns = sent[i];
        async move {
            match error {
                Some(e) => failed(i, sent_ns, e),
                None => read_h1(i, conn, head_only, released, sent_ns, job.max_body).await,
            }
        }
    });
    let responses = futures::future::join_all(reads).await;
    Ok(BurstReport {
        mode: BurstMode::LastByte,
        protocol: HttpVersion::Http11,
        batches: vec![job.h1_wires.len()],
        stream_limit: None,
        release_writes: Vec::new(),
        release_bytes: Vec::new(),
        responses,
        requests: job.h1_sent.clone(),
        tls,
    })
}

async fn naive(job: &BurstJob) -> Result<BurstReport, EngineError> {
    let (conns, tls) = h1_connections(job, None).await?;
    let barrier = Arc::new(tokio::sync::Barrier::new(conns.len()));
    let released = Instant::now();
    let mut tasks = Vec::with_capacity(conns.len());
    for (i, mut conn) in conns.into_iter().enumerate() {
        let barrier = barrier.clone();
        let wire = job.h1_wires[i].clone();
        let head_only = job.head_only[i];
        let max_body = job.max_body;
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let sent_ns = released.elapsed().as_nanos() as u64;
            if let Err(e) = conn.write(&wire).await {
                return failed(i, sent_ns, e.chain());
            }
            read_h1(i, conn, head_only, released, sent_ns, max_body).await
        }));
    }
    let mut responses = Vec::with_capacity(tasks.len());
    for (i, task) in tasks.into_iter().enumerate() {
        responses.push(task.await.unwrap_or_else(|e| failed(i, 0, e.to_string())));
    }
    Ok(BurstReport {
        mode: BurstMode::Naive,
        protocol: HttpVersion::Http11,
        batches: vec![job.h1_wires.len()],
        stream_limit: None,
        release_writes: Vec::new(),
        release_bytes: Vec::new(),
        responses,
        requests: job.h1_sent.clone(),
        tls,
    })
}

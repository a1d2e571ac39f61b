//! Running the measurements against an in-process lab.

use crate::args::Settings;
use crate::machine::Machine;
use crate::stats::{percentile, spread};
use mortar_engine::{BurstMode, BurstOptions, BurstReport, Engine, EngineConfig, Origin, Request, TlsSettings};
use mortar_model::Target;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The modes compared, the baseline last.
pub const MODES: [BurstMode; 3] = [BurstMode::SinglePacket, BurstMode::LastByte, BurstMode::Naive];

/// Time limit of one burst (connections, release and responses).
const BURST_TIMEOUT: Duration = Duration::from_secs(30);

/// The server stack behind the bench endpoints. How close together a server
/// starts the streams of one HTTP/2 connection is the server's doing, so
/// every figure is given per server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// axum on hyper (2 tokio worker threads shared by every connection).
    Axum,
    /// actix-web (2 single-threaded workers, each connection on one of them).
    Actix,
}

impl Server {
    /// Both, in the order they are measured.
    pub const ALL: [Server; 2] = [Server::Axum, Server::Actix];

    /// The name in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Server::Axum => "axum",
            Server::Actix => "actix-web",
        }
    }

    fn url(self, lab: &mortar_lab::Lab) -> &str {
        match self {
            Server::Axum => &lab.bench().tls,
            Server::Actix => &lab.bench().actix_tls,
        }
    }
}

/// How the limit endpoint spends its check-to-use window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// A spin that holds the worker thread (CPU work between check and use).
    Blocking,
    /// A spin that yields to the runtime on every turn (an awaited call
    /// between check and use): the thread serves other requests meanwhile.
    Awaiting,
}

impl WindowKind {
    /// Both, in the order they are measured.
    pub const ALL: [WindowKind; 2] = [WindowKind::Blocking, WindowKind::Awaiting];

    /// The name in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowKind::Blocking => "blocking",
            WindowKind::Awaiting => "awaiting",
        }
    }
}

/// The spread figures of one (mode, N) cell.
#[derive(Debug, Clone)]
pub struct SpreadCell {
    /// The server measured.
    pub server: Server,
    /// The synchronization.
    pub mode: BurstMode,
    /// Requests per burst.
    pub n: usize,
    /// Bursts attempted.
    pub total: usize,
    /// Arrival spread of each successful burst, in ns.
    pub spreads_ns: Vec<u64>,
    /// Bursts whose every batch was released in exactly one socket write (single-packet only).
    pub one_write: usize,
    /// Largest HTTP/2 concurrent-stream limit the server announced (single-packet only).
    pub stream_limit: Option<usize>,
    /// Most batches one burst needed (more than 1 when N exceeds the stream limit).
    pub max_batches: usize,
    /// Failed bursts by reason.
    pub failures: BTreeMap<String, usize>,
}

impl SpreadCell {
    fn new(server: Server, mode: BurstMode, n: usize) -> SpreadCell {
        SpreadCell {
            server,
            mode,
            n,
            total: 0,
            spreads_ns: Vec::new(),
            one_write: 0,
            stream_limit: None,
            max_batches: 0,
            failures: BTreeMap::new(),
        }
    }

    /// Successful bursts.
    pub fn ok(&self) -> usize {
        self.spreads_ns.len()
    }

    /// Median spread in ns (nearest rank).
    pub fn p50_ns(&self) -> Option<u64> {
        percentile(&self.spreads_ns, 50)
    }

    /// 95th-percentile spread in ns (nearest rank).
    pub fn p95_ns(&self) -> Option<u64> {
        percentile(&self.spreads_ns, 95)
    }
}

/// The win-rate figures of one (mode, window) cell.
#[derive(Debug, Clone)]
pub struct WinCell {
    /// The server measured.
    pub server: Server,
    /// How the window is spent.
    pub kind: WindowKind,
    /// The synchronization.
    pub mode: BurstMode,
    /// Requests per burst.
    pub n: usize,
    /// The check-to-use window, in microseconds.
    pub window_us: u64,
    /// Bursts attempted (failed ones included: they count as losses).
    pub total: usize,
    /// Bursts with more than one 200.
    pub wins: usize,
    /// Number of 200s of each burst that ran.
    pub successes: Vec<usize>,
    /// Failed bursts by reason.
    pub failures: BTreeMap<String, usize>,
}

impl WinCell {
    /// Wins as a percentage of the bursts attempted.
    pub fn percent(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.wins as f64 * 100.0 / self.total as f64 }
    }
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Results {
    /// What was asked.
    pub settings: Settings,
    /// Where it ran.
    pub machine: Machine,
    /// When the run started, seconds since the Unix epoch.
    pub started_unix: u64,
    /// How long the measurements took (lab start included).
    pub elapsed: Duration,
    /// /proc/loadavg when the measurements ended.
    pub loadavg_end: Option<String>,
    /// Spread cells, by server, N, then mode.
    pub spread: Vec<SpreadCell>,
    /// Win-rate cells, by server, window kind, window, then mode.
    pub win: Vec<WinCell>,
}

/// The client side: an engine like the integration tests' `lab_engine` and
/// the bench endpoints' origin.
struct Client {
    engine: Engine,
    origin: Origin,
    /// Path of the bench endpoints, ending in `/`.
    path: String,
    settle: Duration,
}

impl Client {
    /// Trusts only the lab CA with strict verification, scope 127.0.0.1, no
    /// rate limit, default body cap; refuses a bench URL that is not loopback.
    fn new(lab: &mortar_lab::Lab, server: Server, settle: Duration) -> Result<Client, String> {
        let target = Target::parse(server.url(lab)).map_err(|e| format!("bench URL: {e}"))?;
        if target.host != "127.0.0.1" || !target.is_https() {
            return Err(format!("the bench URL {} is not https://127.0.0.1", target.url));
        }
        let ca = std::fs::read(lab.ca_cert_path()).map_err(|e| format!("cannot read the lab CA: {e}"))?;
        let config = EngineConfig {
            scope_hosts: vec!["127.0.0.1".into()],
            tls: TlsSettings { ca_pem: vec![ca], strict: true, only_given_roots: true },
            rate: None,
            ..EngineConfig::default()
        };
        let engine = Engine::new(config, &[]).map_err(|e| format!("cannot build the engine: {}", e.chain()))?;
        Ok(Client { engine, origin: Origin::of(&target), path: target.base_path, settle })
    }

    /// N `POST`s of `endpoint` with a small distinct body each.
    fn requests(&self, n: usize, endpoint: &str) -> Vec<Request> {
        (0..n)
            .map(|i| Request::new("POST", &self.origin, format!("{}{endpoint}", self.path)).body(format!("n={i}")))
            .collect()
    }

    async fn burst(&self, mode: BurstMode, requests: Vec<Request>) -> Result<BurstReport, String> {
        let options = BurstOptions { mode, settle: self.settle, io_wrapper: None, timeout: Some(BURST_TIMEOUT) };
        self.engine.burst(requests, options).await.map_err(|e| format!("burst error: {}", e.chain()))
    }

    /// One ordinary `POST` to a bench endpoint; its status and body.
    async fn control(&self, endpoint: &str) -> Result<(u16, Vec<u8>), String> {
        let request = Request::new("POST", &self.origin, format!("{}{endpoint}", self.path));
        match self.engine.send(request).await {
            Ok(exchange) => Ok((exchange.response.status, exchange.response.body)),
            Err(e) => Err(format!("{endpoint}: {}", e.chain())),
        }
    }

    /// Takes (and so clears) the lab's arrival log.
    async fn arrivals(&self) -> Result<Vec<u64>, String> {
        let (status, body) = self.control("arrivals").await?;
        if status != 200 {
            return Err(format!("arrivals: status {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("arrivals: not a JSON array of integers: {e}"))
    }

    /// One spread burst; the cell records its outcome.
    async fn spread_burst(&self, cell: &mut SpreadCell) {
        cell.total += 1;
        let outcome = async {
            // Clears what an earlier (failed) burst may have left.
            self.arrivals().await?;
            let report = self.burst(cell.mode, self.requests(cell.n, "arrive")).await?;
            let arrived = self.arrivals().await?;
            let ok = report.responses.iter().filter(|r| r.status == Some(200)).count();
            if ok != cell.n {
                return Err(format!("{} of {} responses not 200", cell.n - ok, cell.n));
            }
            // More than N would mean a straggler from elsewhere: the spread would be wrong too.
            if arrived.len() != cell.n {
                return Err(format!("{} arrivals recorded, expected {}", arrived.len(), cell.n));
            }
            Ok((report, spread(&arrived).unwrap_or(0)))
        }
        .await;
        match outcome {
            Ok((report, spread_ns)) => {
                cell.spreads_ns.push(spread_ns);
                let one_write = !report.release_writes.is_empty() && report.release_writes.iter().all(|&w| w == 1);
                cell.one_write += usize::from(one_write);
                cell.stream_limit = cell.stream_limit.max(report.stream_limit);
                cell.max_batches = cell.max_batches.max(report.batches.len());
            }
            Err(reason) => *cell.failures.entry(reason).or_default() += 1,
        }
    }

    /// One win-rate burst on a fresh single-use action; the cell records its outcome.
    async fn win_burst(&self, cell: &mut WinCell) {
        cell.total += 1;
        let outcome = async {
            let (status, _) = self.control("limit/reset").await?;
            if !(200..300).contains(&status) {
                return Err(format!("limit/reset: status {status}"));
            }
            let awaiting = if cell.kind == WindowKind::Awaiting { "&awaiting=1" } else { "" };
            let endpoint = format!("limit?window_us={}{awaiting}", cell.window_us);
            let report = self.burst(cell.mode, self.requests(cell.n, &endpoint)).await?;
            Ok(report.responses.iter().filter(|r| r.status == Some(200)).count())
        }
        .await;
        match outcome {
            Ok(successes) => {
                cell.successes.push(successes);
                cell.wins += usize::from(successes > 1);
            }
            Err(reason) => *cell.failures.entry(reason).or_default() += 1,
        }
    }
}

/// Starts the lab, measures every cell and stops the lab. Modes alternate
/// burst by burst so that drift on the machine affects them alike.
pub async fn run(settings: &Settings, machine: Machine) -> Result<Results, String> {
    let started = Instant::now();
    let started_unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    progress("starting the lab");
    let lab = mortar_lab::Lab::start(mortar_lab::LabOptions::default())
        .await
        .map_err(|e| format!("the lab did not start: {e}"))?;
    let mut spread_cells = Vec::new();
    let mut win_cells = Vec::new();
    for server in Server::ALL {
        let client = Client::new(&lab, server, settings.settle)?;
        spread_cells.extend(measure_spread(&client, server, settings).await);
        win_cells.extend(measure_win_rate(&client, server, settings).await);
    }
    lab.shutdown();
    Ok(Results {
        settings: settings.clone(),
        machine,
        started_unix,
        elapsed: started.elapsed(),
        loadavg_end: crate::machine::loadavg(),
        spread: spread_cells,
        win: win_cells,
    })
}

/// The spread cells of one server. One discarded burst per mode first:
/// first-use costs (TLS configs, thread start) are not measured.
async fn measure_spread(client: &Client, server: Server, settings: &Settings) -> Vec<SpreadCell> {
    for mode in MODES {
        client.spread_burst(&mut SpreadCell::new(server, mode, 2)).await;
    }
    let mut all = Vec::new();
    for &n in &settings.sizes {
        progress(&format!("{}: spread: N = {n}, {} bursts per mode", server.as_str(), settings.bursts));
        let mut cells: Vec<SpreadCell> = MODES.iter().map(|&m| SpreadCell::new(server, m, n)).collect();
        for _ in 0..settings.bursts {
            for cell in &mut cells {
                client.spread_burst(cell).await;
            }
        }
        for cell in &cells {
            progress(&format!(
                "  {:<13} ok {}/{}  p50 {}  p95 {}{}",
                cell.mode.as_str(),
                cell.ok(),
                cell.total,
                micros(cell.p50_ns()),
                micros(cell.p95_ns()),
                failure_note(&cell.failures)
            ));
        }
        all.extend(cells);
    }
    all
}

/// The win-rate cells of one server, for both kinds of window.
async fn measure_win_rate(client: &Client, server: Server, settings: &Settings) -> Vec<WinCell> {
    let mut all = Vec::new();
    for kind in WindowKind::ALL {
        for &window_us in &settings.windows_us {
            progress(&format!(
                "{}: win rate: {} window {window_us} us, N = {}, {} bursts per mode",
                server.as_str(),
                kind.as_str(),
                settings.win_n,
                settings.bursts
            ));
            let mut cells: Vec<WinCell> = MODES
                .iter()
                .map(|&mode| WinCell {
                    server,
                    kind,
                    mode,
                    n: settings.win_n,
                    window_us,
                    total: 0,
                    wins: 0,
                    successes: Vec::new(),
                    failures: BTreeMap::new(),
                })
                .collect();
            for _ in 0..settings.bursts {
                for cell in &mut cells {
                    client.win_burst(cell).await;
                }
            }
            for cell in &cells {
                progress(&format!(
                    "  {:<13} wins {}/{} ({:.0}%){}",
                    cell.mode.as_str(),
                    cell.wins,
                    cell.total,
                    cell.percent(),
                    failure_note(&cell.failures)
                ));
            }
            all.extend(cells);
        }
    }
    all
}

/// A progress line on stderr (stdout carries only the tables), with the Unix
/// time so other load on the machine can be matched to the cells it overlapped.
pub fn progress(line: &str) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    eprintln!("race-bench: [{}.{:03}] {line}", now.as_secs(), now.subsec_millis());
}

/// ns as microseconds with one decimal, `-` when absent.
pub fn micros(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".to_string(), |ns| format!("{:.1} us", ns as f64 / 1000.0))
}

fn failure_note(failures: &BTreeMap<String, usize>) -> String {
    failures.iter().map(|(reason, count)| format!("; {count}x {reason}")).collect()
}

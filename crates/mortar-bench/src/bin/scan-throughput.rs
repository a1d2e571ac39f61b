//! `scan-throughput`: requests per second through mortar's request path (the
//! engine with its limits, pooling and evidence capture, unthrottled), to be
//! compared with wrk on the same target (bench/scan-bench.sh).

use mortar_engine::{Engine, EngineConfig, Origin, Request, TlsSettings};
use mortar_model::Target;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Args {
    url: String,
    ca_cert: Option<String>,
    concurrency: usize,
    seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { url: String::new(), ca_cert: None, concurrency: 8, seconds: 10 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--ca-cert" => args.ca_cert = Some(value()?),
            "--concurrency" => args.concurrency = value()?.parse().map_err(|_| "--concurrency: a number")?,
            "--seconds" => args.seconds = value()?.parse().map_err(|_| "--seconds: a number")?,
            other => return Err(format!("unknown option `{other}` (--url, --ca-cert, --concurrency, --seconds)")),
        }
    }
    if args.url.is_empty() {
        return Err("--url is required".into());
    }
    if args.concurrency == 0 || args.concurrency > 1024 || args.seconds == 0 || args.seconds > 600 {
        return Err("--concurrency 1-1024 and --seconds 1-600".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("scan-throughput: error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("scan-throughput: error: {e}");
        std::process::exit(2);
    }
}

async fn run(args: Args) -> Result<(), String> {
    let target = Target::parse(&args.url).map_err(|e| e.to_string())?;
    let host = target.host.clone();
    // Benchmark traffic stays on this machine.
    if !(host.starts_with("127.") || host == "::1" || host == "localhost") {
        return Err(format!("{host} is not a loopback address"));
    }
    let ca_pem = match &args.ca_cert {
        Some(path) => vec![std::fs::read(path).map_err(|e| format!("{path}: {e}"))?],
        None => Vec::new(),
    };
    let config = EngineConfig {
        concurrency: args.concurrency,
        rate: None,
        scope_hosts: vec![host],
        tls: TlsSettings { ca_pem, strict: true, only_given_roots: false },
        ..EngineConfig::default()
    };
    let engine = Engine::new(config, &[]).map_err(|e| e.chain())?;
    let origin = Origin::of(&target);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let evidence_bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let stop = started + Duration::from_secs(args.seconds);
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (engine, origin, path) = (engine.clone(), origin.clone(), target.base_path.clone());
        let (done, failed, evidence_bytes) = (done.clone(), failed.clone(), evidence_bytes.clone());
        workers.push(tokio::spawn(async move {
            while Instant::now() < stop {
                match engine.send(Request::get(&origin, path.clone())).await {
                    Ok(exchange) => {
                        // What every check pays for a finding's proof: redaction, capping, encoding.
                        let evidence = engine.evidence(&exchange, "throughput");
                        let body = evidence.response.and_then(|r| r.body).map(|b| b.content.len()).unwrap_or(0);
                        evidence_bytes.fetch_add(body as u64, Ordering::Relaxed);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let secs = started.elapsed().as_secs_f64();
    let count = done.load(Ordering::Relaxed);
    println!(
        "{:.0} requests/s ({count} responses in {secs:.1}s, {} errors, {} connections' worth of concurrency)",
        count as f64 / secs,
        failed.load(Ordering::Relaxed),
        args.concurrency
    );
    Ok(())
}

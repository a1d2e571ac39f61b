//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What a run of the program printed and returned.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs mortar in-process with these arguments and environment.
pub async fn mortar(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut invocation = mortar::Invocation::args(args.iter().copied());
    invocation.env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>();
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let code = mortar::run(invocation, &mut stdout, &mut stderr).await;
    Output { code, stdout: String::from_utf8_lossy(&stdout).into(), stderr: String::from_utf8_lossy(&stderr).into() }
}

/// Asserts a JSON report validates against the committed schema.
pub fn assert_valid_report(json: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(json).expect("report is JSON");
    let schema: serde_json::Value = serde_json::from_str(mortar_report::REPORT_SCHEMA).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(&value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "report does not match the schema:\n{}", errors.join("\n"));
    value
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Finds a lab target by scenario and variant.
pub fn target<'a>(lab: &'a mortar_lab::Lab, scenario: &str, variant: &str) -> &'a mortar_lab::LabTarget {
    lab.targets()
        .iter()
        .find(|t| t.scenario == scenario && t.variant.as_str() == variant)
        .unwrap_or_else(|| panic!("no lab target {scenario}/{variant}"))
}

/// `scan URL scan_args... extra...` for a lab target.
pub fn scan_args<'a>(target: &'a mortar_lab::LabTarget, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["scan", target.url.as_str()];
    args.extend(target.scan_args.iter().map(String::as_str));
    args.extend(extra.iter().copied());
    args
}

/// The check ids of a JSON report's findings.
pub fn finding_checks(report: &serde_json::Value) -> Vec<String> {
    report["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap().to_string()).collect()
}

/// A raw server: records each request head and answers with `respond(n, head)`
/// (`None`: accept and never answer).
pub struct RawServer {
    pub port: u16,
    pub heads: Arc<Mutex<Vec<String>>>,
    pub connections: Arc<AtomicUsize>,
}

pub async fn raw_server(respond: impl Fn(usize, &str) -> Option<Vec<u8>> + Send + Sync + 'static) -> RawServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let respond = Arc::new(respond);
    let (h, c) = (heads.clone(), connections.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            let (heads, respond) = (h.clone(), respond.clone());
            tokio::spawn(async move {
                loop {
                    let mut buf = Vec::new();
                    let mut byte = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut byte).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&byte[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let n = {
                        let mut heads = heads.lock().unwrap();
                        heads.push(head.clone());
                        heads.len()
                    };
                    match respond(n, &head) {
                        Some(bytes) => {
                            if socket.write_all(&bytes).await.is_err() {
                                return;
                            }
                        }
                        None => {
                            tokio::time::sleep(Duration::from_secs(60)).await;
                            return;
                        }
                    }
                }
            });
        }
    });
    RawServer { port, heads, connections }
}

/// A 200 response with a body.
pub fn ok(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

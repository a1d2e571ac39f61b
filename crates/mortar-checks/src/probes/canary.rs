//! The canary: a small HTTP listener mortar runs during a scan. SSRF probes
//! hand the target a URL on it carrying a fresh token; a request for that
//! URL is the proof that the target fetched it. The first request for a
//! token is answered with a redirect to a second URL of the same token, so
//! that following redirects (which defeats host allow-lists) shows too.
//!
//! It only answers: it never connects anywhere.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Path prefix of every canary URL.
const PREFIX: &str = "/mortar-canary/";
/// Suffix of the URL the first answer redirects to.
const FOLLOWED: &str = "/followed";
/// Longest request head read from a caller.
const MAX_HEAD: usize = 8 * 1024;
/// How long one caller may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// One request the canary received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The token of the URL asked for.
    pub token: String,
    /// Whether it was the redirect's target (the caller followed the redirect).
    pub followed: bool,
    /// Request method.
    pub method: String,
    /// Who connected.
    pub peer: SocketAddr,
    /// Its `User-Agent`, if any.
    pub user_agent: Option<String>,
}

/// Where a scan's canary goes, as the user said (`--canary-listen`,
/// `--canary-url`). Started only when SSRF probes run.
#[derive(Debug, Clone, Default)]
pub struct CanaryPlan {
    /// The address to listen on; by default an ephemeral loopback port beside a loopback target.
    pub listen: Option<SocketAddr>,
    /// The base URL the target reaches the canary by, when not the bound address.
    pub advertised: Option<String>,
}

impl CanaryPlan {
    /// Starts the canary for a target on `host`, or says why SSRF goes untested.
    pub async fn start(&self, host: &str) -> Result<Arc<Canary>, String> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let listen = match self.listen {
            Some(addr) => addr,
            None if loopback && host.contains(':') => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0)),
            None if loopback => SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
            None => {
                return Err("the target is not on loopback and no canary was given (--canary-listen, and \
                            --canary-url when the target reaches it under another address)"
                    .into());
            }
        };
        Canary::start(listen, self.advertised.clone())
            .await
            .map_err(|e| format!("the canary could not listen on {listen}: {e}"))
    }
}

/// A running canary listener; stops when dropped.
#[derive(Debug)]
pub struct Canary {
    base_url: String,
    listen: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Canary {
    /// Listens on `listen`; URLs are built on `advertised` when given (a name or
    /// address the target can reach), else on the bound address.
    pub async fn start(listen: SocketAddr, advertised: Option<String>) -> std::io::Result<Arc<Canary>> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let bound = listener.local_addr()?;
        let base_url =
            advertised.map(|u| u.trim_end_matches('/').to_string()).unwrap_or_else(|| format!("http://{bound}"));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(serve(listener, base_url.clone(), hits.clone()));
        Ok(Arc::new(Canary { base_url, listen: bound, hits, task }))
    }

    /// The address it listens on.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// The URL handed out for `token`.
    pub fn url(&self, token: &str) -> String {
        format!("{}{PREFIX}{token}", self.base_url)
    }

    /// The requests received for `token` so far.
    pub fn hits(&self, token: &str) -> Vec<Hit> {
        self.hits.lock().map(|h| h.iter().filter(|h| h.token == token).cloned().collect()).unwrap_or_default()
    }

    /// Waits until every token was asked for, or `limit` passed; fetches may
    /// happen after the target answered (queues, webhooks).
    pub async fn wait_for(&self, tokens: &[String], limit: Duration) {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if tokens.iter().all(|t| !self.hits(t).is_empty()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, base_url: String, hits: Arc<Mutex<Vec<Hit>>>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let (base_url, hits) = (base_url.clone(), hits.clone());
        tokio::spawn(async move {
            let _ = tokio::time::timeout(READ_TIMEOUT, answer(stream, peer, &base_url, &hits)).await;
        });
    }
}

async fn answer(
    mut stream: tokio::net::TcpStream,
    peer: SocketAddr,
    base_url: &str,
    hits: &Mutex<Vec<Hit>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (first.next().unwrap_or_default().to_string(), first.next().unwrap_or_default());
    let user_agent = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.trim().chars().take(200).collect());
    let path = target.split('?').next().unwrap_or_default();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    };
    let (token, followed) = match rest.strip_suffix(FOLLOWED) {
        Some(token) => (token, true),
        None => (rest, false),
    };
    let token: String = token.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
    if let Ok(mut all) = hits.lock() {
        all.push(Hit { token: token.clone(), followed, method, peer, user_agent });
    }
    let response = if followed {
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nmortar canary"
            .to_string()
    } else {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {base_url}{PREFIX}{token}{FOLLOWED}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    stream.write_all(response.as_bytes()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: probe/1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn a_token_is_recorded_then_redirected_and_the_follow_recorded() {
        let canary = Canary::start("127.0.0.1:0".parse().unwrap(), None).await.unwrap();
        let addr = canary.listen_addr();
        assert!(canary.url("abc123").starts_with(&format!("http://{addr}/mortar-canary/")));
        let first = get(addr, "/mortar-canary/abc123").await;
        assert!(first.starts_with("HTTP/1.1 302"), "{first}");
        assert!(first.contains(&format!("Location: http://{addr}/mortar-canary/abc123/followed")));
        let second = get(addr, "/mortar-canary/abc123/followed").await;
        assert!(second.ends_with("mortar canary"));
        assert!(get(addr, "/elsewhere").await.starts_with("HTTP/1.1 404"));
        let hits = canary.hits("abc123");
        assert_eq!(hits.iter().map(|h| h.followed).collect::<Vec<_>>(), vec![false, true]);
        assert_eq!(hits[0].user_agent.as_deref(), Some("probe/1"));
        assert!(canary.hits("other").is_empty());
        canary.wait_for(&["abc123".to_string()], Duration::from_secs(5)).await;
    }
}

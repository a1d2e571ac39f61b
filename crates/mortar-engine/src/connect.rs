//! Opening connections: TCP (with TCP_NODELAY), an optional HTTP proxy tunnel,
//! the caller's I/O wrapper, then TLS.

use crate::io::{BoxIo, IoWrapper};
use crate::request::Origin;
use crate::tls::{RecordingVerifier, TlsInfo};
use crate::{EngineError, ProxyConfig};
use rustls::pki_types::ServerName;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An open connection and what its TLS handshake negotiated.
pub struct Connected {
    /// The stream (TLS when the origin is https).
    pub io: BoxIo,
    /// TLS facts.
    pub tls: Option<TlsInfo>,
}

/// Opens a connection to `origin`.
pub async fn connect(
    origin: &Origin,
    proxy: Option<&ProxyConfig>,
    tls: Option<(Arc<rustls::ClientConfig>, &RecordingVerifier)>,
    wrapper: Option<&Arc<dyn IoWrapper>>,
) -> Result<Connected, EngineError> {
    let (host, port) = match proxy {
        Some(p) => (p.host.as_str(), p.port),
        None => (origin.host.as_str(), origin.port),
    };
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|source| EngineError::Connect { addr: format!("{}:{port}", origin_host(host)), source })?;
    // Small writes must leave at once (bursts, probes); Nagle would batch them.
    tcp.set_nodelay(true).map_err(EngineError::Io)?;
    let mut io: BoxIo = Box::new(tcp);
    if let Some(wrapper) = wrapper {
        io = wrapper.wrap(io);
    }
    if proxy.is_some() && origin.https {
        io = tunnel(io, origin).await?;
    }
    let Some((config, verifier)) = tls else {
        return Ok(Connected { io, tls: None });
    };
    let name = ServerName::try_from(origin.host.clone())
        .map_err(|_| EngineError::TlsConfig(format!("`{}` is not a valid TLS server name", origin.host)))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = connector.connect(name, io).await.map_err(EngineError::Tls)?;
    let conn = stream.get_ref().1;
    let info = TlsInfo {
        version: conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default(),
        cipher_suite: conn.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default(),
        alpn: conn.alpn_protocol().map(|p| String::from_utf8_lossy(p).into_owned()),
        verdict: verifier.verdict(&origin.host),
        peer_certificates: conn
            .peer_certificates()
            .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
            .unwrap_or_default(),
    };
    Ok(Connected { io: Box::new(stream), tls: Some(info) })
}

fn origin_host(host: &str) -> String {
    if host.contains(':') { format!("[{host}]") } else { host.to_string() }
}

/// Asks an HTTP proxy for a tunnel with CONNECT.
async fn tunnel(mut io: BoxIo, origin: &Origin) -> Result<BoxIo, EngineError> {
    let authority = format!("{}:{}", origin_host(&origin.host), origin.port);
    let request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    io.write_all(request.as_bytes()).await.map_err(EngineError::Io)?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Read byte by byte so nothing of the tunnelled stream is consumed here.
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(EngineError::Proxy("proxy answer to CONNECT is too long".into()));
        }
        let n = io.read(&mut byte).await.map_err(EngineError::Io)?;
        if n == 0 {
            return Err(EngineError::Proxy("proxy closed the connection during CONNECT".into()));
        }
        head.push(byte[0]);
    }
    let status_line = String::from_utf8_lossy(&head);
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with('2') {
        return Err(EngineError::Proxy(format!(
            "proxy refused CONNECT {authority}: {}",
            status_line.lines().next().unwrap_or("")
        )));
    }
    Ok(io)
}

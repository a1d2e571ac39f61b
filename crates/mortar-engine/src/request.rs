//! What a check asks the engine to send, and what comes back.

use crate::io::IoWrapper;
use crate::tls::TlsInfo;
use mortar_model::{Identity, target::format_authority};
use std::sync::Arc;
use std::time::Duration;

/// Where a request goes: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// Whether to speak TLS.
    pub https: bool,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Origin {
    /// The origin of a scan target.
    pub fn of(target: &mortar_model::Target) -> Origin {
        Origin { https: target.is_https(), host: target.host.clone(), port: target.port }
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }

    /// The Host header value.
    pub fn authority(&self) -> String {
        format_authority(self.scheme(), &self.host, self.port)
    }

    /// Absolute URL of a request target on this origin.
    pub fn url(&self, target: &str) -> String {
        format!("{}://{}{}", self.scheme(), self.authority(), target)
    }
}

/// Which HTTP version to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HttpVersionPref {
    /// HTTP/1.1 (the default: exact bytes on the wire).
    #[default]
    Http1,
    /// HTTP/2: ALPN `h2` over TLS, prior knowledge (h2c) over plain TCP.
    Http2,
    /// Whatever ALPN negotiates, h2 preferred; HTTP/1.1 over plain TCP.
    Auto,
}

/// The HTTP version a response came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.0 (a server may answer with it).
    Http10,
    /// HTTP/1.1.
    Http11,
    /// HTTP/2.
    Http2,
}

impl HttpVersion {
    /// `HTTP/1.1` and the like.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
            HttpVersion::Http2 => "HTTP/2",
        }
    }
}

/// Per-request transport choices.
#[derive(Clone, Default)]
pub struct RequestOptions {
    /// HTTP version.
    pub http: HttpVersionPref,
    /// Open a new connection and do not return it to the pool.
    pub fresh_connection: bool,
    /// A TLS configuration for this request only (implies a fresh connection).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Follow up to this many in-scope redirects (GET/HEAD only).
    pub follow_redirects: u8,
    /// Wraps the socket below TLS (implies a fresh connection).
    pub io_wrapper: Option<Arc<dyn IoWrapper>>,
    /// Overrides the per-request timeout.
    pub timeout: Option<Duration>,
    /// Do not retry after a 429 (the check wants to see it).
    pub no_retry: bool,
    /// Send the headers as given: the identity's signer does not run (a
    /// signature probe sends a signature it built or tampered with itself).
    pub unsigned: bool,
}

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestOptions")
            .field("http", &self.http)
            .field("fresh_connection", &self.fresh_connection)
            .field("custom_tls", &self.tls.is_some())
            .field("follow_redirects", &self.follow_redirects)
            .field("io_wrapper", &self.io_wrapper.is_some())
            .field("timeout", &self.timeout)
            .field("unsigned", &self.unsigned)
            .finish()
    }
}

/// A request to send.
///
/// The request target is written exactly as given: no normalisation of dot
/// segments or percent-encoding. With [`Request::raw`] set, those bytes are the
/// whole HTTP/1.1 request on the wire.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method, sent as given.
    pub method: String,
    /// Request target (path and query), sent as given.
    pub target: String,
    /// Headers, in order. `Host`, `User-Agent`, `Accept-Encoding` and
    /// `Content-Length` are added when absent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body.
    pub body: Vec<u8>,
    /// Where it goes.
    pub origin: Origin,
    /// Identity whose headers and client certificate are applied.
    pub identity: Option<Arc<Identity>>,
    /// Exact HTTP/1.1 bytes to send instead of serialising the fields above
    /// (which still describe the request for evidence).
    pub raw: Option<Vec<u8>>,
    /// Transport choices.
    pub options: RequestOptions,
    /// The check that sends it, for per-check counters.
    pub tag: Option<&'static str>,
}

impl Request {
    /// A GET of `target` on `origin`.
    pub fn get(origin: &Origin, target: impl Into<String>) -> Request {
        Request::new("GET", origin, target)
    }

    /// A request with the given method and no body.
    pub fn new(method: impl Into<String>, origin: &Origin, target: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            headers: Vec::new(),
            body: Vec::new(),
            origin: origin.clone(),
            identity: None,
            raw: None,
            options: RequestOptions::default(),
            tag: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends as `identity`.
    pub fn identity(mut self, identity: Option<Arc<Identity>>) -> Request {
        self.identity = identity;
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Tags the request with the check that sends it.
    pub fn tag(mut self, check: &'static str) -> Request {
        self.tag = Some(check);
        self
    }

    /// The absolute URL.
    pub fn url(&self) -> String {
        self.origin.url(&self.target)
    }

    /// The first value of a header set on the request itself, case-insensitively.
    pub fn header_value(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }
}

/// The request as it went on the wire (identity headers included; redacted only
/// when turned into evidence).
#[derive(Debug, Clone)]
pub struct SentRequest {
    /// Method.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Version spoken.
    pub version: HttpVersion,
    /// Every header sent, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body sent.
    pub body: Vec<u8>,
}

/// A response, its body decompressed and capped.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Version spoken.
    pub version: HttpVersion,
    /// Headers in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body, decoded from its content-encoding, at most the engine's body cap.
    pub body: Vec<u8>,
    /// Whether the body was cut at the cap.
    pub body_truncated: bool,
    /// Time from the first byte written to the end of the body.
    pub elapsed: Duration,
    /// TLS facts, when TLS was used.
    pub tls: Option<TlsInfo>,
    /// Redirect locations followed, in order.
    pub redirects: Vec<String>,
    /// A redirect that was not followed because it left the scope.
    pub blocked_redirect: Option<String>,
}

impl Response {
    /// The first value of a header, case-insensitively, as lossy text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }

    /// Every value of a header, case-insensitively.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    /// The body as lossy text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request and the response it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// What was sent.
    pub request: SentRequest,
    /// What came back (after any redirects followed).
    pub response: Response,
}

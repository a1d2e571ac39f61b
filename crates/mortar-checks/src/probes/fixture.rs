//! Test fixture: exchanges built by hand, for the checks' detection unit tests.

use mortar_engine::{Exchange, HttpVersion, Response, SentRequest};
use std::time::Duration;

/// A response to `GET url` with the given status, headers and body.
pub(crate) fn exchange(url: &str, status: u16, headers: &[(&str, &str)], body: &str) -> Exchange {
    Exchange {
        request: SentRequest {
            method: "GET".into(),
            url: url.into(),
            version: HttpVersion::Http11,
            headers: vec![],
            body: vec![],
        },
        response: Response {
            status,
            version: HttpVersion::Http11,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.as_bytes().to_vec())).collect(),
            body: body.as_bytes().to_vec(),
            body_truncated: false,
            elapsed: Duration::ZERO,
            tls: None,
            redirects: vec![],
            blocked_redirect: None,
        },
    }
}

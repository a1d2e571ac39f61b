//! A hand-built TLS ClientHello for what rustls will not offer (TLS 1.0/1.1,
//! weak TLS 1.2 suites). Only the server's first reply is parsed: a ServerHello
//! (version and suite chosen) or an alert; the handshake is never completed.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// TLS 1.0, 1.1 and 1.2 as wire versions.
pub(crate) const TLS10: u16 = 0x0301;
/// TLS 1.1.
pub(crate) const TLS11: u16 = 0x0302;
/// TLS 1.2.
pub(crate) const TLS12: u16 = 0x0303;

/// Suites commonly enabled on legacy servers, for the version probes.
pub(crate) const LEGACY_SUITES: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, // ECDHE AES-GCM (ignored below TLS 1.2)
    0xc009, 0xc013, 0xc00a, 0xc014, // ECDHE AES-CBC-SHA
    0x0033, 0x0039, // DHE-RSA AES-CBC-SHA
    0x002f, 0x0035, // RSA AES-CBC-SHA
    0x000a, // RSA 3DES
];

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HelloReply {
    /// A ServerHello: the version and suite it chose.
    Accepted {
        /// Negotiated version (wire value).
        version: u16,
        /// Chosen suite.
        suite: u16,
    },
    /// An alert, a close, or garbage: refused.
    Refused(String),
}

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn with_len16(out: &mut Vec<u8>, body: &[u8]) {
    u16be(out, body.len() as u16);
    out.extend_from_slice(body);
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    u16be(out, kind);
    with_len16(out, body);
}

/// A ClientHello record offering exactly `version` and `suites`.
pub(crate) fn client_hello(version: u16, suites: &[u16], sni: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut hello = Vec::new();
    u16be(&mut hello, version);
    hello.extend_from_slice(&random);
    hello.push(0); // no session id
    let mut cs = Vec::new();
    for s in suites {
        u16be(&mut cs, *s);
    }
    u16be(&mut cs, 0x00ff); // renegotiation info SCSV
    with_len16(&mut hello, &cs);
    hello.extend_from_slice(&[1, 0]); // compression: null only
    let mut ext = Vec::new();
    if let Some(name) = sni {
        let mut list = vec![0u8];
        with_len16(&mut list, name.as_bytes());
        let mut body = Vec::new();
        with_len16(&mut body, &list);
        extension(&mut ext, 0x0000, &body);
    }
    // supported_groups: x25519, P-256, P-384, P-521
    let mut groups = Vec::new();
    for g in [0x001du16, 0x0017, 0x0018, 0x0019] {
        u16be(&mut groups, g);
    }
    let mut body = Vec::new();
    with_len16(&mut body, &groups);
    extension(&mut ext, 0x000a, &body);
    extension(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
    if version >= TLS12 {
        let mut algs = Vec::new();
        for a in [0x0403u16, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0201, 0x0203] {
            u16be(&mut algs, a);
        }
        let mut body = Vec::new();
        with_len16(&mut body, &algs);
        extension(&mut ext, 0x000d, &body);
    }
    extension(&mut ext, 0xff01, &[0]); // renegotiation_info (empty)
    with_len16(&mut hello, &ext);

    let mut handshake = vec![1u8]; // client_hello
    let len = hello.len() as u32;
    handshake.extend_from_slice(&len.to_be_bytes()[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![22u8];
    u16be(&mut record, TLS10); // record version: 1.0 for compatibility
    with_len16(&mut record, &handshake);
    record
}

/// Parses the server's first record(s). `None` when more bytes are needed.
pub(crate) fn parse_reply(buf: &[u8]) -> Option<HelloReply> {
    if buf.len() < 5 {
        return None;
    }
    let kind = buf[0];
    let len = u16::from_be_bytes([buf[3], buf[4]]) as usize;
    match kind {
        21 => {
            if buf.len() < 7 {
                return None;
            }
            Some(HelloReply::Refused(format!("alert {}", buf[6])))
        }
        22 => {
            // The ServerHello is the first handshake message; its head fits the first record.
            let body = &buf[5..];
            if body.len() < 4 + 2 + 32 + 1 {
                return if body.len() >= len {
                    Some(HelloReply::Refused("short handshake record".into()))
                } else {
                    None
                };
            }
            if body[0] != 2 {
                return Some(HelloReply::Refused(format!("handshake message {} instead of ServerHello", body[0])));
            }
            let version = u16::from_be_bytes([body[4], body[5]]);
            let sid_len = body[38] as usize;
            let at = 39 + sid_len;
            if body.len() < at + 2 {
                return if body.len() >= len { Some(HelloReply::Refused("short ServerHello".into())) } else { None };
            }
            let suite = u16::from_be_bytes([body[at], body[at + 1]]);
            Some(HelloReply::Accepted { version, suite })
        }
        other => Some(HelloReply::Refused(format!("record type {other}: not TLS"))),
    }
}

/// Sends one ClientHello to `host:port` and reads the reply (bounded by `timeout`).
pub(crate) async fn probe(
    host: &str,
    port: u16,
    version: u16,
    suites: &[u16],
    sni: Option<&str>,
    timeout: Duration,
) -> Result<HelloReply, String> {
    let mut random = [0u8; 32];
    mortar_engine::tls::provider().secure_random.fill(&mut random).map_err(|_| "no randomness".to_string())?;
    let hello = client_hello(version, suites, sni, random);
    let attempt = async {
        let mut tcp = tokio::net::TcpStream::connect((host, port)).await.map_err(|e| format!("cannot connect: {e}"))?;
        tcp.write_all(&hello).await.map_err(|e| format!("write: {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match tcp.read(&mut chunk).await {
                Ok(0) => return Ok(parse_reply(&buf).unwrap_or(HelloReply::Refused("connection closed".into()))),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Ok(HelloReply::Refused(format!("connection reset ({e})"))),
            }
            if let Some(reply) = parse_reply(&buf) {
                return Ok(reply);
            }
            if buf.len() > 64 * 1024 {
                return Ok(HelloReply::Refused("oversized reply".into()));
            }
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no reply within {timeout:?}")),
    }
}

/// A readable name for a wire version.
pub(crate) fn version_name(v: u16) -> &'static str {
    match v {
        0x0300 => "SSL 3.0",
        TLS10 => "TLS 1.0",
        TLS11 => "TLS 1.1",
        TLS12 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "unknown version",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_well_formed_and_replies_parse() {
        let hello = client_hello(TLS11, &[0x002f], Some("api.example"), [7; 32]);
        assert_eq!(hello[0], 22);
        let record_len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        assert_eq!(record_len, hello.len() - 5);
        assert_eq!(hello[5], 1);
        let hs_len = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(hs_len, hello.len() - 9);
        assert_eq!(u16::from_be_bytes([hello[9], hello[10]]), TLS11);

        assert_eq!(parse_reply(&[21, 3, 1, 0, 2, 2, 70]), Some(HelloReply::Refused("alert 70".into())));
        assert_eq!(parse_reply(&[21, 3, 1]), None);
        let mut sh = vec![22, 3, 1, 0, 42, 2, 0, 0, 38, 3, 1];
        sh.extend_from_slice(&[0; 32]);
        sh.push(0);
        sh.extend_from_slice(&[0xc0, 0x13, 0]);
        assert_eq!(parse_reply(&sh), Some(HelloReply::Accepted { version: TLS10, suite: 0xc013 }));
        assert_eq!(parse_reply(b"HTTP/1.1 400 Bad"), Some(HelloReply::Refused("record type 72: not TLS".into())));
    }
}

//! HTTP/1.1 on the wire: requests written as exact bytes, responses parsed with
//! hard caps on the head and the body.

use crate::EngineError;
use crate::io::BoxIo;
use crate::request::HttpVersion;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest response head accepted (status line plus headers).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Most headers accepted in one response.
pub const MAX_HEADERS: usize = 128;

/// Serialises a request: request line and headers as given, nothing normalised.
pub fn serialize(method: &str, target: &str, headers: &[(String, Vec<u8>)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A connection with its read buffer (bytes read past one response stay for the next).
pub struct H1Conn {
    /// The stream.
    pub io: BoxIo,
    /// Bytes read and not yet consumed.
    pub buf: BytesMut,
}

/// A parsed response head.
#[derive(Debug)]
pub struct Head {
    /// Status code.
    pub status: u16,
    /// HTTP/1.0 or 1.1.
    pub version: HttpVersion,
    /// Headers in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(|b| *b == b','))
            .any(|t| String::from_utf8_lossy(t).trim().eq_ignore_ascii_case(token))
    }
}

/// A response body as read off the wire (still content-encoded).
pub struct RawBody {
    /// Bytes, at most the cap.
    pub bytes: Vec<u8>,
    /// Whether reading stopped at the cap.
    pub truncated: bool,
}

/// Counts of what a read consumed.
pub struct ReadOutcome {
    /// The head.
    pub head: Head,
    /// The body.
    pub body: RawBody,
    /// Whether the connection can carry another request.
    pub reusable: bool,
    /// Bytes read for this response.
    pub bytes_read: u64,
}

impl H1Conn {
    /// Wraps a stream.
    pub fn new(io: BoxIo) -> H1Conn {
        H1Conn { io, buf: BytesMut::with_capacity(8 * 1024) }
    }

    /// Writes bytes and flushes.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), EngineError> {
        self.io.write_all(bytes).await.map_err(EngineError::Io)?;
        self.io.flush().await.map_err(EngineError::Io)
    }

    async fn fill(&mut self) -> Result<usize, EngineError> {
        self.buf.reserve(8 * 1024);
        self.io.read_buf(&mut self.buf).await.map_err(EngineError::Io)
    }

    /// Reads one final (non-1xx) response. `head_only` for HEAD requests.
    pub async fn read_response(&mut self, head_only: bool, body_cap: usize) -> Result<ReadOutcome, EngineError> {
        let mut bytes_read = 0u64;
        let head = loop {
            let (head, consumed) = self.read_head(&mut bytes_read).await?;
            self.buf.advance(consumed);
            // 1xx responses are interim (100 Continue, 103 Early Hints); 101 would switch protocols.
            if (100..200).contains(&head.status) && head.status != 101 {
                continue;
            }
            break head;
        };
        let no_body = head_only || head.status == 204 || head.status == 304 || head.status == 101;
        let close = head.has_token("connection", "close") || head.version == HttpVersion::Http10;
        let (body, complete) = if no_body {
            (RawBody { bytes: Vec::new(), truncated: false }, true)
        } else if head.has_token("transfer-encoding", "chunked") {
            self.read_chunked(body_cap, &mut bytes_read).await?
        } else if let Some(len) = head.header("content-length") {
            let len: u64 = String::from_utf8_lossy(len)
                .trim()
                .parse()
                .map_err(|_| EngineError::Malformed("invalid Content-Length".into()))?;
            self.read_exact_len(len, body_cap, &mut bytes_read).await?
        } else {
            let body = self.read_to_eof(body_cap, &mut bytes_read).await?;
            (body, false)
        };
        Ok(ReadOutcome { head, reusable: complete && !close && !body.truncated, body, bytes_read })
    }

    async fn read_head(&mut self, bytes_read: &mut u64) -> Result<(Head, usize), EngineError> {
        loop {
            if !self.buf.is_empty() {
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut resp = httparse::Response::new(&mut headers);
                match resp.parse(&self.buf) {
                    Ok(httparse::Status::Complete(n)) => {
                        let version = if resp.version == Some(0) { HttpVersion::Http10 } else { HttpVersion::Http11 };
                        let head = Head {
                            status: resp.code.unwrap_or(0),
                            version,
                            headers: resp.headers.iter().map(|h| (h.name.to_string(), h.value.to_vec())).collect(),
                        };
                        return Ok((head, n));
                    }
                    Ok(httparse::Status::Partial) => {
                        if self.buf.len() > MAX_HEAD_BYTES {
                            return Err(EngineError::Malformed(format!(
                                "response head larger than {MAX_HEAD_BYTES} bytes"
                            )));
                        }
                    }
                    Err(e) => return Err(EngineError::Malformed(format!("invalid HTTP response: {e}"))),
                }
            }
            let n = self.fill().await?;
            if n == 0 {
                return Err(if self.buf.is_empty() {
                    EngineError::ClosedWithoutResponse
                } else {
                    EngineError::Malformed("connection closed in the middle of the response head".into())
                });
            }
            *bytes_read += n as u64;
        }
    }

    async fn read_exact_len(
        &mut self,
        len: u64,
        cap: usize,
        bytes_read: &mut u64,
    ) -> Result<(RawBody, bool), EngineError> {
        let want = len.min(cap as u64) as usize;
        while self.buf.len() < want {
            let n = self.fill().await?;
            if n == 0 {
                return Err(EngineError::Malformed("connection closed before the end of the body".into()));
            }
            *bytes_read += n as u64;
        }
        let bytes = self.buf.split_to(want).to_vec();
        let truncated = (want as u64) < len;
        Ok((RawBody { bytes, truncated }, !truncated))
    }

    async fn read_to_eof(&mut self, cap: usize, bytes_read: &mut u64) -> Result<RawBody, EngineError> {
        loop {
            if self.buf.len() >= cap {
                let bytes = self.buf.split_to(cap).to_vec();
                return Ok(RawBody { bytes, truncated: true });
            }
            let n = self.fill().await?;
            if n == 0 {
                let bytes = self.buf.split().to_vec();
                return Ok(RawBody { bytes, truncated: false });
            }
            *bytes_read += n as u64;
        }
    }

    async fn read_line(&mut self, bytes_read: &mut u64) -> Result<Vec<u8>, EngineError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line = self.buf.split_to(pos + 1);
                return Ok(line.strip_suffix(b"\r\n").or(line.strip_suffix(b"\n")).unwrap_or(&line).to_vec());
            }
            if self.buf.len() > 8 * 1024 {
                return Err(EngineError::Malformed("chunk size line too long".into()));
            }
            let n = self.fill().await?;
            if n == 0 {
                return Err(EngineError::Malformed("connection closed inside a chunked body".into()));
            }
            *bytes_read += n as u64;
        }
    }

    async fn read_chunked(&mut self, cap: usize, bytes_read: &mut u64) -> Result<(RawBody, bool), EngineError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(bytes_read).await?;
            let size_text = String::from_utf8_lossy(&line);
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_text, 16)
                .map_err(|_| EngineError::Malformed(format!("invalid chunk size `{size_text}`")))?;
            if size == 0 {
                // Trailers end with an empty line.
                loop {
                    if self.read_line(bytes_read).await?.is_empty() {
                        return Ok((RawBody { bytes: body, truncated: false }, true));
                    }
                }
            }
            let room = cap - body.len();
            let take = size.min(room as u64) as usize;
            while self.buf.len() < take {
                let n = self.fill().await?;
                if n == 0 {
                    return Err(EngineError::Malformed("connection closed inside a chunk".into()));
                }
                *bytes_read += n as u64;
            }
            body.extend_from_slice(&self.buf.split_to(take));
            if (take as u64) < size {
                return Ok((RawBody { bytes: body, truncated: true }, false));
            }
            // The CRLF after the chunk data.
            let _ = self.read_line(bytes_read).await?;
        }
    }
}

/// Decodes a content-encoded body with the decoded output bounded by `cap`, so a
/// compression bomb costs at most `cap` bytes. Unknown encodings are kept as is.
pub fn decode_body(encoding: Option<&str>, raw: Vec<u8>, cap: usize, raw_truncated: bool) -> (Vec<u8>, bool) {
    use std::io::Read;
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase());
    let limit = cap as u64 + 1;
    let mut out = Vec::new();
    let result = match encoding.as_deref() {
        Some("gzip") | Some("x-gzip") => {
            flate2::read::MultiGzDecoder::new(raw.as_slice()).take(limit).read_to_end(&mut out)
        }
        Some("deflate") => {
            let zlib = flate2::read::ZlibDecoder::new(raw.as_slice()).take(limit).read_to_end(&mut out);
            if zlib.is_err() {
                out.clear();
                flate2::read::DeflateDecoder::new(raw.as_slice()).take(limit).read_to_end(&mut out)
            } else {
                zlib
            }
        }
        _ => return (raw, raw_truncated),
    };
    match result {
        Ok(_) => {
            let truncated = out.len() > cap || raw_truncated;
            out.truncate(cap);
            (out, truncated)
        }
        // A body cut at the cap, or corrupt, decodes partly: keep what decoded.
        Err(_) if !out.is_empty() => {
            out.truncate(cap);
            (out, true)
        }
        Err(_) => (raw, raw_truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn conn(bytes: &'static [u8]) -> H1Conn {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        tokio::spawn(async move {
            let _ = server.write_all(bytes).await;
        });
        H1Conn::new(Box::new(client))
    }

    #[tokio::test]
    async fn reads_chunked_and_keeps_the_rest_for_the_next_response() {
        let mut c = conn(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
        let r = c.read_response(false, 1024).await.unwrap();
        assert_eq!((r.head.status, r.body.bytes.as_slice(), r.reusable), (200, &b"abcde"[..], true));
        let r = c.read_response(false, 1024).await.unwrap();
        assert_eq!(r.head.status, 204);
    }

    #[tokio::test]
    async fn caps_the_body_and_marks_the_connection_spent() {
        let mut c = conn(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
        let r = c.read_response(false, 4).await.unwrap();
        assert_eq!(r.body.bytes, b"0123");
        assert!(r.body.truncated && !r.reusable);
    }

    #[tokio::test]
    async fn malformed_and_empty_answers_are_errors() {
        let mut c = conn(b"NOT HTTP AT ALL\r\n\r\n");
        assert!(matches!(c.read_response(false, 4).await, Err(EngineError::Malformed(_))));
        let mut c = conn(b"");
        assert!(matches!(c.read_response(false, 4).await, Err(EngineError::ClosedWithoutResponse)));
    }

    #[test]
    fn a_gzip_bomb_decodes_to_at_most_the_cap() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'a'; 10 * 1024 * 1024]).unwrap();
        let bomb = enc.finish().unwrap();
        let (out, truncated) = decode_body(Some("gzip"), bomb, 1024, false);
        assert_eq!(out.len(), 1024);
        assert!(truncated);
    }
}

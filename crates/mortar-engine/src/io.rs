//! The byte stream under every connection, and the hook to wrap it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A bidirectional byte stream.
pub trait AsyncIo: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> AsyncIo for T {}

/// A boxed stream: TCP, TLS over TCP, or a wrapper around either.
pub type BoxIo = Box<dyn AsyncIo>;

/// Wraps the socket of a connection, below TLS, so a check can see or shape
/// exactly what goes on the wire (write counting, write gates for bursts).
pub trait IoWrapper: Send + Sync {
    /// Wraps the freshly connected socket.
    fn wrap(&self, io: BoxIo) -> BoxIo;
}

/// Counts the writes and bytes that pass through a stream.
#[derive(Debug, Default)]
pub struct WriteCounter {
    writes: AtomicU64,
    bytes: AtomicU64,
    sizes: std::sync::Mutex<Vec<u64>>,
}

impl WriteCounter {
    /// Calls to `poll_write` that wrote at least one byte.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }
    /// Bytes written.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }
    /// The size of every write, in order.
    pub fn sizes(&self) -> Vec<u64> {
        self.sizes.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// An [`IoWrapper`] that counts writes into a shared [`WriteCounter`].
#[derive(Debug, Clone, Default)]
pub struct CountingWrapper {
    /// The counter every wrapped stream adds to.
    pub counter: Arc<WriteCounter>,
}

impl IoWrapper for CountingWrapper {
    fn wrap(&self, io: BoxIo) -> BoxIo {
        Box::new(CountingIo { inner: io, counter: self.counter.clone() })
    }
}

struct CountingIo {
    inner: BoxIo,
    counter: Arc<WriteCounter>,
}

impl AsyncRead for CountingIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &poll
            && *n > 0
        {
            self.counter.writes.fetch_add(1, Ordering::SeqCst);
            self.counter.bytes.fetch_add(*n as u64, Ordering::SeqCst);
            if let Ok(mut sizes) = self.counter.sizes.lock() {
                sizes.push(*n as u64);
            }
        }
        poll
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

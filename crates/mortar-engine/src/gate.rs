//! The write gate: a socket wrapper (below TLS) that, once armed, holds every
//! write until the next flush and then hands the whole lot to the socket in as
//! few writes as the kernel allows (one, for a burst's final frames).

use crate::io::{BoxIo, IoWrapper};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Shared state of a gate: armed or not, and what the last release cost.
#[derive(Debug, Default)]
pub struct WriteGate {
    armed: AtomicBool,
    releases: AtomicU64,
    last_release_writes: AtomicU64,
    last_release_bytes: AtomicU64,
}

impl WriteGate {
    /// A new, disarmed gate.
    pub fn new() -> Arc<WriteGate> {
        Arc::new(WriteGate::default())
    }

    /// From now until the next flush, writes are held.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Releases completed so far.
    pub fn releases(&self) -> u64 {
        self.releases.load(Ordering::SeqCst)
    }

    /// Socket writes the last release took (1 is the goal).
    pub fn last_release_writes(&self) -> u64 {
        self.last_release_writes.load(Ordering::SeqCst)
    }

    /// Bytes the last release wrote.
    pub fn last_release_bytes(&self) -> u64 {
        self.last_release_bytes.load(Ordering::SeqCst)
    }
}

/// An [`IoWrapper`] installing a [`WriteGate`].
#[derive(Debug, Clone)]
pub struct GateWrapper(pub Arc<WriteGate>);

impl IoWrapper for GateWrapper {
    fn wrap(&self, io: BoxIo) -> BoxIo {
        Box::new(GateIo { inner: io, gate: self.0.clone(), held: Vec::new(), draining: false, writes: 0, bytes: 0 })
    }
}

struct GateIo {
    inner: BoxIo,
    gate: Arc<WriteGate>,
    /// Bytes held since the gate was armed.
    held: Vec<u8>,
    /// A release is in progress (held bytes came from an armed period).
    draining: bool,
    writes: u64,
    bytes: u64,
}

impl GateIo {
    /// Writes the held bytes; counts the socket writes it takes.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.held) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.held.drain(..n);
                    self.writes += 1;
                    self.bytes += n as u64;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        if self.draining {
            self.draining = false;
            self.gate.last_release_writes.store(self.writes, Ordering::SeqCst);
            self.gate.last_release_bytes.store(self.bytes, Ordering::SeqCst);
            self.gate.releases.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for GateIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for GateIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.gate.armed.load(Ordering::SeqCst) {
            if !this.draining {
                this.draining = true;
                this.writes = 0;
                this.bytes = 0;
            }
            this.held.extend_from_slice(buf);
            return Poll::Ready(Ok(buf.len()));
        }
        if !this.held.is_empty() {
            // Keep order: what was held goes first, together with this.
            this.held.extend_from_slice(buf);
            let _ = this.poll_drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // The flush ends the armed period: everything held leaves now.
        this.gate.armed.store(false, Ordering::SeqCst);
        std::task::ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        this.gate.armed.store(false, Ordering::SeqCst);
        std::task::ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// Applies several wrappers in order (the first is nearest the socket).
pub struct ChainWrapper(pub Vec<Arc<dyn IoWrapper>>);

impl IoWrapper for ChainWrapper {
    fn wrap(&self, mut io: BoxIo) -> BoxIo {
        for w in &self.0 {
            io = w.wrap(io);
        }
        io
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::CountingWrapper;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn armed_writes_leave_in_one_write_at_flush() {
        let (client, _server) = tokio::io::duplex(1 << 16);
        let counting = CountingWrapper::default();
        let gate = WriteGate::new();
        let mut io = GateWrapper(gate.clone()).wrap(counting.wrap(Box::new(client)));
        io.write_all(b"before").await.unwrap();
        assert_eq!(counting.counter.writes(), 1);
        gate.arm();
        for _ in 0..20 {
            io.write_all(b"frame").await.unwrap();
        }
        assert_eq!(counting.counter.writes(), 1, "nothing leaves while armed");
        io.flush().await.unwrap();
        assert_eq!(counting.counter.writes(), 2);
        assert_eq!((gate.releases(), gate.last_release_writes(), gate.last_release_bytes()), (1, 1, 100));
        io.write_all(b"after").await.unwrap();
        assert_eq!(counting.counter.writes(), 3, "disarmed again after the flush");
    }
}

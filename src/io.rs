//! A runtime stream as hyper I/O.
//!
//! hyper 1.x reads and writes through its own `hyper::rt::{Read, Write}`; the runtime traits
//! (and async-tungstenite, futures-rustls) speak `futures-io`. [`HyperIo`] lets hyper serve or
//! request over a runtime stream. The server and client use it for every connection; it is
//! public for code that runs hyper beside them on the same runtime traits (the benchmark
//! floors do, to compare like with like).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use engineio_core::runtime::Stream;
use futures_util::io::{AsyncRead, AsyncWrite};

/// How many bytes one read moves at most when hyper asks for more.
const READ_CHUNK: usize = 8 * 1024;

/// A runtime stream as hyper I/O.
///
/// hyper hands reads an uninitialised cursor; filling it needs `unsafe`, which this crate
/// forbids, so reads go through a scratch buffer and `put_slice` (one memcpy per read). The
/// scratch buffer is the connection's, allocated and zeroed at its first read: a fresh stack
/// array per read cost a zero-fill of 8 KiB per request.
///
/// After a WebSocket upgrade, `hyper::upgrade::Upgraded::downcast::<HyperIo>()` gives the
/// connection back, and [`into_inner`](Self::into_inner) the raw stream, so that the socket
/// runs without this copy layer.
pub struct HyperIo {
    inner: Box<dyn Stream>,
    scratch: Vec<u8>,
}

impl HyperIo {
    /// Wraps a runtime stream (from a `Listener` or a runtime's connect) for hyper.
    pub fn new(inner: Box<dyn Stream>) -> Self {
        Self {
            inner,
            scratch: Vec::new(),
        }
    }

    /// The stream, for use without hyper (after an upgrade).
    pub fn into_inner(self) -> Box<dyn Stream> {
        self.inner
    }
}

impl std::fmt::Debug for HyperIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HyperIo").finish_non_exhaustive()
    }
}

impl hyper::rt::Read for HyperIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut cursor: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.scratch.is_empty() {
            this.scratch = vec![0; READ_CHUNK];
        }
        let want = cursor.remaining().min(READ_CHUNK);
        let read = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.scratch[..want]))?;
        cursor.put_slice(&this.scratch[..read]);
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for HyperIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

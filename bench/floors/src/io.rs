//! A runtime stream as hyper I/O: the same adapter as the `engineio` server's `HyperIo`
//! (`src/io.rs`, crate-private there), copied so the floors read and write through the same
//! layers (one copy per read through the connection's scratch buffer, and the raw stream taken back
//! after an upgrade).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use engineio_core::runtime::Stream;
use futures_util::io::{AsyncRead, AsyncWrite};

/// How many bytes one read moves at most when hyper asks for more (as in the server).
const READ_CHUNK: usize = 8 * 1024;

/// A runtime stream (`Box<dyn Stream>`) as hyper I/O.
#[derive(Debug)]
pub struct HyperIo {
    /// The stream; after an upgrade, `Upgraded::downcast` gives it back.
    pub inner: Box<dyn Stream>,
    /// The connection's read scratch buffer, zeroed once at the first read.
    scratch: Vec<u8>,
}

impl HyperIo {
    /// Wraps a runtime stream.
    pub fn new(inner: Box<dyn Stream>) -> Self {
        Self {
            inner,
            scratch: Vec::new(),
        }
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

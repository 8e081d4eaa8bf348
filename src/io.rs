//! A runtime stream as hyper I/O.
//!
//! hyper 1.x reads and writes through its own `hyper::rt::{Read, Write}`; the runtime traits
//! (and async-tungstenite, futures-rustls) speak `futures-io`. [`HyperIo`] lets hyper serve or
//! request over a runtime stream. The server's adapters for the other direction live in
//! `server::hyper_rt`.

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
pub(crate) struct HyperIo {
    pub(crate) inner: Box<dyn Stream>,
    scratch: Vec<u8>,
}

impl HyperIo {
    pub(crate) fn new(inner: Box<dyn Stream>) -> Self {
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

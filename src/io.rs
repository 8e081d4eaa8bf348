//! Adapters between the runtime's `futures-io` streams and hyper's I/O traits.
//!
//! hyper 1.x reads and writes through its own `hyper::rt::{Read, Write}`; the runtime traits
//! (and async-tungstenite, futures-rustls) speak `futures-io`. [`HyperIo`] lets hyper serve or
//! request over a runtime stream; [`FuturesIo`] goes the other way, for a connection that hyper
//! upgraded and that we did not create ourselves (a framework such as axum owns the socket).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use engineio_core::runtime::{Runtime, Stream, Timer};
use futures_util::io::{AsyncRead, AsyncWrite};
use std::sync::Arc;

/// How many bytes one read moves at most when hyper asks for more.
const READ_CHUNK: usize = 8 * 1024;

/// A runtime stream as hyper I/O.
///
/// hyper hands reads an uninitialised cursor; filling it needs `unsafe`, which this crate
/// forbids, so reads go through a small stack buffer and `put_slice` (one memcpy per read).
pub(crate) struct HyperIo {
    pub(crate) inner: Box<dyn Stream>,
}

impl HyperIo {
    pub(crate) fn new(inner: Box<dyn Stream>) -> Self {
        Self { inner }
    }
}

impl hyper::rt::Read for HyperIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut cursor: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let mut scratch = [0u8; READ_CHUNK];
        let want = cursor.remaining().min(READ_CHUNK);
        let read = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut scratch[..want]))?;
        cursor.put_slice(&scratch[..read]);
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

/// Any hyper I/O (an upgraded connection) as a `futures-io` stream.
pub(crate) struct FuturesIo<T> {
    inner: T,
}

impl<T> FuturesIo<T> {
    pub(crate) fn new(inner: T) -> Self {
        Self { inner }
    }
}

impl<T: hyper::rt::Read + Unpin> AsyncRead for FuturesIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = hyper::rt::ReadBuf::new(buf);
        ready!(Pin::new(&mut self.inner).poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: hyper::rt::Write + Unpin> AsyncWrite for FuturesIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The runtime's timers as hyper's timer (header read timeouts).
#[derive(Clone, Debug)]
pub(crate) struct HyperTimer(pub(crate) Arc<dyn Runtime>);

struct HyperSleep(Pin<Box<dyn Timer>>);

impl std::future::Future for HyperSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll_elapsed(cx)
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = self.0.now() + duration;
        Box::pin(HyperSleep(self.0.timer(deadline)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep(self.0.timer(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        *sleep = self.sleep_until(new_deadline);
    }
}

/// The runtime as hyper's executor (for client connections' background tasks).
#[derive(Clone, Debug)]
pub(crate) struct HyperExecutor(pub(crate) Arc<dyn Runtime>);

impl<F> hyper::rt::Executor<F> for HyperExecutor
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        self.0.spawn(Box::pin(async move {
            future.await;
        }));
    }
}

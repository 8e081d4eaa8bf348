//! hyper glue the server needs beyond [`HyperIo`](crate::io::HyperIo): a `futures-io` view of
//! a connection hyper upgraded but did not get from us (a framework such as axum owns the
//! socket). hyper needs no timer: the header read timeout is kept beside it (see
//! `head_deadline`).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::io::{AsyncRead, AsyncWrite};

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

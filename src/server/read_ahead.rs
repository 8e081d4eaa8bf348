//! A WebSocket connection's stream, read through a scratch buffer shared by the thread.
//!
//! tungstenite keeps its read buffer for the socket's whole life and reads at most that much
//! per call. A large buffer costs every idle session its size (and a zero-fill per read); a
//! small one costs a system call per few hundred bytes under load. [`ReadAhead`] removes the
//! trade: the system call reads into the thread's scratch buffer ([`with_scratch`]), the
//! library gets what fits its small buffer, and the rest waits in a buffer of this connection
//! that exists only while it holds bytes. An idle socket then holds no read-ahead memory, and
//! a burst still costs one system call.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use engineio_core::runtime::Stream;
use futures_util::io::{AsyncRead, AsyncWrite};

use crate::io::{with_scratch, SCRATCH_LEN};

/// A stream whose reads go through the thread's scratch buffer (see the module docs).
pub(crate) struct ReadAhead {
    inner: Box<dyn Stream>,
    /// Bytes read from the socket that the reader has not taken yet; empty (no allocation)
    /// otherwise.
    ahead: Vec<u8>,
    /// How much of `ahead` was taken.
    taken: usize,
}

impl ReadAhead {
    /// Wraps a connection's stream.
    pub(crate) fn new(inner: Box<dyn Stream>) -> Self {
        Self {
            inner,
            ahead: Vec::new(),
            taken: 0,
        }
    }

    /// The stream; bytes read ahead and not taken are dropped.
    pub(crate) fn into_inner(self) -> Box<dyn Stream> {
        self.inner
    }

    /// Moves what was read ahead into `buf`; frees the buffer once it is all taken.
    fn take_ahead(&mut self, buf: &mut [u8]) -> usize {
        let rest = &self.ahead[self.taken..];
        let moved = rest.len().min(buf.len());
        buf[..moved].copy_from_slice(&rest[..moved]);
        self.taken += moved;
        if self.taken == self.ahead.len() {
            self.ahead = Vec::new();
            self.taken = 0;
        }
        moved
    }
}

impl AsyncRead for ReadAhead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.taken < this.ahead.len() {
            return Poll::Ready(Ok(this.take_ahead(buf)));
        }
        if buf.len() >= SCRATCH_LEN {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        with_scratch(|scratch| {
            let read = ready!(Pin::new(&mut this.inner).poll_read(cx, scratch))?;
            let moved = read.min(buf.len());
            buf[..moved].copy_from_slice(&scratch[..moved]);
            if read > moved {
                this.ahead = scratch[moved..read].to_vec();
            }
            Poll::Ready(Ok(moved))
        })
    }
}

impl AsyncWrite for ReadAhead {
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

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::io::{AsyncReadExt, Cursor};
    use futures_util::FutureExt;

    /// One read; the test streams are always ready.
    fn read(stream: &mut ReadAhead, buf: &mut [u8]) -> usize {
        stream
            .read(buf)
            .now_or_never()
            .expect("ready")
            .expect("read")
    }

    /// A stream over fixed bytes; writes are accepted and dropped.
    struct Chunked {
        data: Cursor<Vec<u8>>,
    }

    impl AsyncRead for Chunked {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.data).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Chunked {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn read_ahead(data: Vec<u8>) -> ReadAhead {
        ReadAhead::new(Box::new(Chunked {
            data: Cursor::new(data),
        }))
    }

    #[test]
    fn small_reads_get_every_byte_in_order_and_free_the_buffer() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut stream = read_ahead(data.clone());
        let mut out = Vec::new();
        let mut buf = [0u8; 500];
        loop {
            let got = read(&mut stream, &mut buf);
            if got == 0 {
                break;
            }
            out.extend_from_slice(&buf[..got]);
        }
        assert_eq!(out, data);
        assert_eq!(stream.ahead.capacity(), 0, "nothing held once all is taken");
    }

    #[test]
    fn one_read_of_the_socket_serves_many_small_reads() {
        let mut stream = read_ahead(vec![7; 2000]);
        let mut buf = [0u8; 512];
        let first = read(&mut stream, &mut buf);
        assert_eq!(first, 512);
        assert_eq!(
            stream.ahead.len() - stream.taken,
            1488,
            "the rest was read ahead"
        );
    }

    #[test]
    fn large_reads_go_straight_to_the_socket() {
        let mut stream = read_ahead(vec![1; 100_000]);
        let mut buf = vec![0u8; SCRATCH_LEN];
        let read = read(&mut stream, &mut buf);
        assert_eq!(read, SCRATCH_LEN);
        assert!(stream.ahead.is_empty());
    }
}

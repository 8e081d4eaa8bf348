//! A WebSocket connection's stream, read through a scratch buffer shared by the thread.
//!
//! tungstenite keeps its read buffer for the socket's whole life and reads at most that much
//! per call. A large buffer costs every idle session its size (and a zero-fill per read); a
//! small one costs a system call per few hundred bytes under load. [`ReadAhead`] removes the
//! trade: the system call reads into the thread's scratch buffer ([`with_scratch`]), the
//! library gets what fits its small buffer, and the rest waits in a buffer of this connection
//! that exists only while it holds bytes. An idle socket then holds no read-ahead memory, and
//! a burst still costs one system call.
//!
//! On the write side it sends the handshake's `101 Switching Protocols` head that hyper wrote
//! and [`HyperIo::holding_switch`](crate::io::HyperIo::holding_switch) held back, together
//! with the first bytes the socket writes (its open packet): one system call for both, where
//! a WebSocket session's set-up has only a handful.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use engineio_core::runtime::Stream;
use futures_util::io::{AsyncRead, AsyncWrite};

use crate::io::{poll_write_all, with_scratch, SCRATCH_LEN};

/// A stream whose reads go through the thread's scratch buffer (see the module docs).
pub(crate) struct ReadAhead {
    inner: Box<dyn Stream>,
    /// Bytes read from the socket that the reader has not taken yet; empty (no allocation)
    /// otherwise.
    ahead: Vec<u8>,
    /// How much of `ahead` was taken.
    taken: usize,
    /// The 101 head not sent yet: it goes before anything else written.
    head: Vec<u8>,
}

impl ReadAhead {
    /// Wraps a connection's stream, with the handshake's answer `head` still to send (empty
    /// when it was sent).
    pub(crate) fn new(inner: Box<dyn Stream>, head: Vec<u8>) -> Self {
        Self {
            inner,
            ahead: Vec::new(),
            taken: 0,
            head,
        }
    }

    /// True while the handshake's answer waits for the socket's first write.
    pub(crate) fn holds_head(&self) -> bool {
        !self.head.is_empty()
    }

    /// The stream; bytes read ahead and not taken are dropped. Call it once the head is sent
    /// (see [`poll_send_head`](Self::poll_send_head)).
    pub(crate) fn into_inner(self) -> Box<dyn Stream> {
        self.inner
    }

    /// Sends the handshake's answer on its own: the socket has nothing to write with it.
    pub(crate) fn poll_send_head(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_write_all(&mut self.inner, cx, &mut self.head)
    }

    /// Writes the head and then as much of `buf` as goes, in one system call; returns how
    /// much of `buf` was written.
    fn poll_write_after_head(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let head = self.head.len();
        let mut joined = std::mem::take(&mut self.head);
        joined.extend_from_slice(buf);
        let written = Pin::new(&mut self.inner).poll_write(cx, &joined);
        joined.truncate(head);
        let written = match written {
            Poll::Ready(Ok(written)) => written,
            other => {
                self.head = joined;
                return other.map_ok(|_| 0);
            }
        };
        if written < head {
            joined.drain(..written);
            self.head = joined;
            // Not all of the head went: `buf` waits behind the rest.
            ready!(self.poll_send_head(cx))?;
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        if written == head {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        Poll::Ready(Ok(written - head))
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
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.holds_head() && !buf.is_empty() {
            return this.poll_write_after_head(cx, buf);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.holds_head() {
            let first = bufs.iter().find(|buf| !buf.is_empty());
            return Pin::new(this).poll_write(cx, first.map_or(&[][..], |buf| &buf[..]));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_head(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_head(cx))?;
        Pin::new(&mut this.inner).poll_close(cx)
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
        ReadAhead::new(
            Box::new(Chunked {
                data: Cursor::new(data),
            }),
            Vec::new(),
        )
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

    use crate::test_stream::Recorder;

    fn holding(head: &[u8], limit: usize) -> (ReadAhead, Recorder) {
        let recorder = Recorder::taking_at_most(limit);
        let stream = ReadAhead::new(Box::new(recorder.clone()), head.to_vec());
        (stream, recorder)
    }

    fn write(stream: &mut ReadAhead, buf: &[u8]) -> usize {
        use futures_util::io::AsyncWriteExt;
        stream
            .write(buf)
            .now_or_never()
            .expect("ready")
            .expect("write")
    }

    #[test]
    fn the_head_leaves_with_the_first_write_in_one_call() {
        let (mut stream, recorder) = holding(b"HTTP/1.1 101 ", usize::MAX);
        assert_eq!(write(&mut stream, b"frame"), 5);
        assert_eq!(write(&mut stream, b"next"), 4);
        assert_eq!(
            recorder.writes(),
            vec![b"HTTP/1.1 101 frame".to_vec(), b"next".to_vec()]
        );
        assert!(!stream.holds_head());
    }

    #[test]
    fn a_flush_with_nothing_written_sends_the_head_alone() {
        use futures_util::io::AsyncWriteExt;
        let (mut stream, recorder) = holding(b"HTTP/1.1 101 ", usize::MAX);
        stream
            .flush()
            .now_or_never()
            .expect("ready")
            .expect("flush");
        assert_eq!(recorder.writes(), vec![b"HTTP/1.1 101 ".to_vec()]);
        assert!(!stream.holds_head());
    }

    #[test]
    fn a_short_write_sends_the_whole_head_before_any_of_the_data() {
        let (mut stream, recorder) = holding(b"0123456789", 4);
        let written = write(&mut stream, b"abcdef");
        assert_eq!(written, 4, "only what the stream took of the data counts");
        assert_eq!(recorder.written(), b"0123456789abcd");
        assert!(!stream.holds_head());
    }
}

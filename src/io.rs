//! A runtime stream as hyper I/O.
//!
//! hyper 1.x reads and writes through its own `hyper::rt::{Read, Write}`; the runtime traits
//! (and async-tungstenite, futures-rustls) speak `futures-io`. [`HyperIo`] lets hyper serve or
//! request over a runtime stream. The server and client use it for every connection; it is
//! public for code that runs hyper beside them on the same runtime traits (the benchmark
//! floors do, to compare like with like).

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use engineio_core::http::linger::{LINGER_BYTES, LINGER_TIME};
use engineio_core::runtime::{Runtime, Stream, Timer};

use crate::head_deadline::HeadDeadline;
use futures_util::io::{AsyncRead, AsyncWrite};

/// How many bytes one system call reads at most, through [`with_scratch`].
pub(crate) const SCRATCH_LEN: usize = 64 * 1024;

/// How many bytes one read moves at most when hyper asks for more. hyper checks its limit
/// on a request head's size between reads, so a larger read would let a head overshoot it
/// (a test sends 100 KB of headers against the 64 KiB limit).
const HTTP_READ_LEN: usize = 8 * 1024;

thread_local! {
    /// The thread's read buffer (see [`with_scratch`]).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `read` with the thread's scratch buffer ([`SCRATCH_LEN`] bytes, zeroed once per
/// thread), which every connection polled on the thread reads through: a read completes
/// within one `poll_read`, so a buffer per connection would only cost its memory while the
/// connection idles, and its zero-fill when it opens (8 KiB per connection showed as a tenth
/// of a WebSocket session's set-up). A stream layered over another that also reads through
/// here gets a buffer of its own rather than a conflict.
pub(crate) fn with_scratch<R>(read: impl FnOnce(&mut [u8]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            if scratch.is_empty() {
                scratch.resize(SCRATCH_LEN, 0);
            }
            read(&mut scratch)
        }
        Err(_) => read(&mut vec![0; 8 * 1024]),
    })
}

/// A runtime stream as hyper I/O.
///
/// hyper hands reads an uninitialised cursor; filling it needs `unsafe`, which this crate
/// forbids, so reads go through a scratch buffer shared by the thread's connections and
/// `put_slice` (one memcpy per read).
///
/// After a WebSocket upgrade, `hyper::upgrade::Upgraded::downcast::<HyperIo>()` gives the
/// connection back, and [`into_inner`](Self::into_inner) the raw stream, so that the socket
/// runs without this copy layer.
pub struct HyperIo {
    inner: Box<dyn Stream>,
    shutdown: Shutdown,
    /// Whether a `101 Switching Protocols` head is held back (see
    /// [`holding_switch`](Self::holding_switch)).
    hold_switch: bool,
    /// The 101 head hyper wrote, not sent yet.
    held: Vec<u8>,
    /// When the next request head is due (server connections; see
    /// [`with_head_deadline`](Self::with_head_deadline)).
    head_deadline: Option<HeadDeadline>,
}

/// How hyper's answer to a WebSocket handshake starts.
const SWITCHING_PROTOCOLS: &[u8] = b"HTTP/1.1 101 ";

/// Room a held 101 keeps for the first frame to join it: an open packet is about 110 bytes.
const JOINED_FRAME_ROOM: usize = 256;

/// What hyper's `poll_shutdown` does: shut the write side down, and for a server's
/// connection then read and drop what the client still sends (see [`HyperIo::lingering`]).
enum Shutdown {
    /// Shut the write side down, nothing more (a client's connection).
    Plain,
    /// Not started; linger with this runtime's clock.
    Linger(Arc<dyn Runtime>),
    /// The write side is shut: reading and dropping until the deadline.
    Draining {
        deadline: Pin<Box<dyn Timer>>,
        dropped: usize,
    },
    /// Finished.
    Done,
}

impl HyperIo {
    /// Wraps a runtime stream (from a `Listener` or a runtime's connect) for hyper.
    pub fn new(inner: Box<dyn Stream>) -> Self {
        Self {
            inner,
            shutdown: Shutdown::Plain,
            hold_switch: false,
            held: Vec::new(),
            head_deadline: None,
        }
    }

    /// Wraps a server's connection for hyper, closing it the lingering way (see
    /// [`engineio_core::http::linger`]): when hyper ends the connection, the write side is
    /// shut down, then what the client still sends is read and dropped until it closes,
    /// [`LINGER_BYTES`] were dropped or [`LINGER_TIME`] passed. A response given before the
    /// request's body was read (a 413) then reaches the client, where closing with unread
    /// bytes would send a reset that can overtake it.
    pub fn lingering(inner: Box<dyn Stream>, runtime: Arc<dyn Runtime>) -> Self {
        Self {
            inner,
            shutdown: Shutdown::Linger(runtime),
            hold_switch: false,
            held: Vec::new(),
            head_deadline: None,
        }
    }

    /// Holds back the `101 Switching Protocols` head hyper writes to accept a WebSocket, so
    /// that it leaves in one system call with the socket's first frame (the server's open
    /// packet) instead of a call of its own: [`into_upgraded`](Self::into_upgraded) hands it
    /// over with the stream, and whoever takes the stream must send it first (and at once if
    /// it has nothing to write). hyper writes nothing after a 101, and its flush of the head
    /// succeeds without sending it.
    #[cfg_attr(not(feature = "server"), allow(dead_code))] // the server's connections only
    pub(crate) fn holding_switch(mut self) -> Self {
        self.hold_switch = true;
        self
    }

    /// Gives the client `deadline`'s time to send each request head (the server's
    /// `header_read_timeout`, see [`crate::head_deadline`]): a read that has to wait past it
    /// fails with `TimedOut`, and hyper drops the connection.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn with_head_deadline(mut self, deadline: HeadDeadline) -> Self {
        self.head_deadline = Some(deadline);
        self
    }

    /// The stream, for use without hyper (after an upgrade).
    pub fn into_inner(self) -> Box<dyn Stream> {
        self.inner
    }

    /// The stream after an upgrade, and the 101 head held back for it (empty unless
    /// [`holding_switch`](Self::holding_switch)), which must be written before anything else.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn into_upgraded(self) -> (Box<dyn Stream>, Vec<u8>) {
        (self.inner, self.held)
    }

    /// True for what must be held rather than written: a 101 head, and anything after it.
    fn holds(&self, buf: &[u8]) -> bool {
        self.hold_switch && (!self.held.is_empty() || buf.starts_with(SWITCHING_PROTOCOLS))
    }

    /// Writes out what is held (before a shutdown: the upgrade did not happen after all).
    fn poll_send_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_write_all(&mut self.inner, cx, &mut self.held)
    }
}

/// Writes all of `pending` to `stream`, taking out of it what was written (so a `Pending`
/// resumes where it stopped).
pub(crate) fn poll_write_all(
    stream: &mut Box<dyn Stream>,
    cx: &mut Context<'_>,
    pending: &mut Vec<u8>,
) -> Poll<io::Result<()>> {
    while !pending.is_empty() {
        let written = ready!(Pin::new(&mut *stream).poll_write(cx, pending))?;
        if written == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        pending.drain(..written);
    }
    Poll::Ready(Ok(()))
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
        let want = cursor.remaining().min(HTTP_READ_LEN);
        let read = with_scratch(|scratch| -> Poll<io::Result<usize>> {
            let read = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut scratch[..want]))?;
            cursor.put_slice(&scratch[..read]);
            Poll::Ready(Ok(read))
        });
        let read = match read {
            Poll::Ready(read) => read?,
            Poll::Pending => {
                // After a 101 no head is due: the connection is being upgraded.
                let upgrading = !this.held.is_empty();
                if let Some(deadline) = this.head_deadline.as_mut().filter(|_| !upgrading) {
                    if deadline.poll_overdue(cx) {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the request head did not come in time",
                        )));
                    }
                }
                return Poll::Pending;
            }
        };
        if read == 0 && want > 0 && matches!(this.shutdown, Shutdown::Linger(_)) {
            // The client closed its side: nothing more can come, so the close needs no
            // lingering.
            this.shutdown = Shutdown::Plain;
        }
        Poll::Ready(Ok(()))
    }
}

impl hyper::rt::Write for HyperIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(deadline) = &mut self.head_deadline {
            deadline.on_write();
        }
        if self.holds(buf) {
            // With room for the first frame it will leave with (see `ReadAhead`), so that
            // joining them costs no second allocation.
            self.held.reserve(buf.len() + JOINED_FRAME_ROOM);
            self.held.extend_from_slice(buf);
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.hold_switch {
            // One slice at a time, so that a 101 head is seen at its start.
            let first = bufs.iter().find(|buf| !buf.is_empty());
            return self.poll_write(cx, first.map_or(&[][..], |buf| &buf[..]));
        }
        if let Some(deadline) = &mut self.head_deadline {
            deadline.on_write();
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.held.is_empty() {
            // The head waits for the socket's first frame (see `holding_switch`).
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_held(cx))?;
        loop {
            match &mut this.shutdown {
                Shutdown::Plain => return Pin::new(&mut this.inner).poll_close(cx),
                Shutdown::Done => return Poll::Ready(Ok(())),
                Shutdown::Linger(runtime) => {
                    // `close` on a TCP stream shuts the write side down: a FIN after the
                    // response.
                    if let Err(error) = ready!(Pin::new(&mut this.inner).poll_close(cx)) {
                        this.shutdown = Shutdown::Done;
                        return Poll::Ready(Err(error));
                    }
                    let deadline = runtime.timer(runtime.now() + LINGER_TIME);
                    this.shutdown = Shutdown::Draining {
                        deadline,
                        dropped: 0,
                    };
                }
                Shutdown::Draining { deadline, dropped } => {
                    if deadline.as_mut().poll_elapsed(cx).is_ready() {
                        this.shutdown = Shutdown::Done;
                        continue;
                    }
                    let inner = &mut this.inner;
                    match with_scratch(|scratch| Pin::new(inner).poll_read(cx, scratch)) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(read)) if read > 0 && *dropped + read < LINGER_BYTES => {
                            *dropped += read;
                        }
                        // The client closed or failed, or sent too much: close anyway.
                        Poll::Ready(_) => this.shutdown = Shutdown::Done,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_read_gets_a_buffer_of_its_own() {
        with_scratch(|outer| {
            outer[0] = 1;
            with_scratch(|inner| {
                assert!(!inner.is_empty());
                inner[0] = 2;
            });
            assert_eq!(
                outer[0], 1,
                "the inner read did not write over the outer one"
            );
            assert_eq!(outer.len(), SCRATCH_LEN);
        });
    }

    use crate::test_stream::Recorder;

    fn poll<T>(f: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> T {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match f(&mut cx) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("the recorder is always ready"),
        }
    }

    fn write(io: &mut HyperIo, buf: &[u8]) -> usize {
        use hyper::rt::Write;
        poll(|cx| Pin::new(&mut *io).poll_write(cx, buf)).expect("write")
    }

    #[test]
    fn a_switching_head_is_held_for_the_upgraded_stream() {
        use hyper::rt::Write;
        let recorder = Recorder::default();
        let mut io = HyperIo::new(Box::new(recorder.clone())).holding_switch();
        let head = b"HTTP/1.1 101 Switching Protocols\r\n\r\n";
        assert_eq!(write(&mut io, head), head.len());
        poll(|cx| Pin::new(&mut io).poll_flush(cx)).expect("flush");
        assert!(recorder.written().is_empty(), "nothing sent yet");
        let (_, held) = io.into_upgraded();
        assert_eq!(held, head);
    }

    #[test]
    fn other_answers_go_out_at_once_and_a_held_head_before_a_shutdown() {
        use hyper::rt::Write;
        let recorder = Recorder::default();
        let mut io = HyperIo::new(Box::new(recorder.clone())).holding_switch();
        write(&mut io, b"HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(recorder.written(), b"HTTP/1.1 200 OK\r\n\r\n");
        write(&mut io, b"HTTP/1.1 101 \r\n\r\n");
        poll(|cx| Pin::new(&mut io).poll_shutdown(cx)).expect("shutdown");
        assert!(recorder.written().ends_with(b"HTTP/1.1 101 \r\n\r\n"));
        let plain = Recorder::default();
        let mut io = HyperIo::new(Box::new(plain.clone()));
        write(&mut io, b"HTTP/1.1 101 \r\n\r\n");
        assert_eq!(plain.written().len(), 17, "not held unless asked");
    }
}

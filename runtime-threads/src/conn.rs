//! A TCP connection (plain, or client-side TLS) that one thread reads while others write.
//!
//! tungstenite's `WebSocket` owns its stream and cannot be split, and a blocking read cannot
//! be interrupted to write. [`Conn`] is the answer: a cheap, cloneable handle on one
//! connection where
//!
//! - **reads** come from a single reader thread and take no lock while they block (plain TCP
//!   is read directly; for TLS the raw bytes are read without the lock, then decrypted under
//!   it);
//! - **writes** from any thread go through one mutex and are always written whole
//!   ([`Conn::send`] and `Write::write` both write the entire buffer before releasing the lock),
//!   so a writer thread's batch of frames and the reader's automatic pong or close reply never
//!   interleave mid-frame;
//! - once a WebSocket close frame has gone out ([`Conn::send`] with `closing`, or
//!   [`Conn::mark_closed`]) later writes are dropped, as RFC 6455 §5.5.1 requires;
//! - [`Conn::shutdown`] from any thread ends a blocked read (how held requests are cancelled
//!   and sockets torn down).

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use engineio_core::http::linger::{LINGER_BYTES, LINGER_TIME};

/// The state writes share.
#[derive(Debug)]
struct WriteSide {
    #[cfg(feature = "tls")]
    tls: Option<Box<rustls::ClientConnection>>,
    /// A close frame went out: further writes are dropped.
    closed: bool,
}

/// One connection; clones share it (see the [module documentation](self)).
#[derive(Debug, Clone)]
pub(crate) struct Conn {
    tcp: Arc<TcpStream>,
    side: Arc<Mutex<WriteSide>>,
    tls: bool,
}

impl Conn {
    /// A plain TCP connection.
    pub(crate) fn plain(tcp: TcpStream) -> Self {
        Self {
            tcp: Arc::new(tcp),
            side: Arc::new(Mutex::new(WriteSide {
                #[cfg(feature = "tls")]
                tls: None,
                closed: false,
            })),
            tls: false,
        }
    }

    /// A client TLS connection whose handshake has completed on `tcp`.
    #[cfg(feature = "tls")]
    pub(crate) fn tls(tcp: TcpStream, connection: rustls::ClientConnection) -> Self {
        Self {
            tcp: Arc::new(tcp),
            side: Arc::new(Mutex::new(WriteSide {
                tls: Some(Box::new(connection)),
                closed: false,
            })),
            tls: true,
        }
    }

    fn lock(&self) -> MutexGuard<'_, WriteSide> {
        self.side.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the read timeout (`None` blocks for ever).
    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) {
        let _ = self
            .tcp
            .set_read_timeout(timeout.map(|t| t.max(Duration::from_millis(1))));
    }

    /// Closes a connection whose peer may still be sending (see
    /// [`engineio_core::http::linger`]): shut the write side down after the last word (a
    /// close frame, a 413), then read and drop what comes until the peer closes,
    /// [`LINGER_BYTES`] were dropped or [`LINGER_TIME`] passed; then shut it down. Closing
    /// with unread bytes would make the kernel send a reset that can overtake the last word.
    pub(crate) fn linger_close(&self) {
        self.shutdown_write();
        let deadline = Instant::now() + LINGER_TIME;
        let mut reader = self.clone();
        let mut buf = [0u8; 8 * 1024];
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            reader.set_read_timeout(Some(left));
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(read) => dropped += read,
            }
        }
        self.shutdown();
    }

    /// Sets the write timeout (`None` blocks for ever).
    pub(crate) fn set_write_timeout(&self, timeout: Option<Duration>) {
        let _ = self
            .tcp
            .set_write_timeout(timeout.map(|t| t.max(Duration::from_millis(1))));
    }

    /// Writes `bytes` whole under the write lock; with `closing`, nothing is written after
    /// them. Does nothing once a close frame went out.
    pub(crate) fn send(&self, bytes: &[u8], closing: bool) -> io::Result<()> {
        let mut side = self.lock();
        if side.closed {
            return Ok(());
        }
        if closing {
            side.closed = true;
        }
        self.write_locked(&mut side, bytes)
    }

    /// No more writes: a close frame went out (or the connection is being torn down).
    pub(crate) fn mark_closed(&self) {
        self.lock().closed = true;
    }

    /// True once a close frame went out (or [`mark_closed`](Self::mark_closed) was called).
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    #[cfg_attr(not(feature = "tls"), allow(clippy::unused_self))]
    fn write_locked(&self, side: &mut WriteSide, bytes: &[u8]) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(tls) = side.tls.as_mut() {
            let mut rest = bytes;
            while !rest.is_empty() {
                let written = tls.writer().write(rest)?;
                rest = &rest[written..];
                let mut flushed = false;
                while tls.wants_write() {
                    tls.write_tls(&mut &*self.tcp)?;
                    flushed = true;
                }
                if written == 0 && !flushed {
                    return Err(io::Error::new(io::ErrorKind::WriteZero, "TLS refused data"));
                }
            }
            return Ok(());
        }
        let _ = side;
        (&*self.tcp).write_all(bytes)
    }

    /// Ends the sending side (a FIN after what was written); reads go on.
    pub(crate) fn shutdown_write(&self) {
        let _ = self.tcp.shutdown(Shutdown::Write);
    }

    /// Ends the connection both ways; a read blocked on it returns.
    pub(crate) fn shutdown(&self) {
        let _ = self.tcp.shutdown(Shutdown::Both);
    }

    /// True if the peer has closed its side (or the socket failed), checked without blocking.
    /// Bytes waiting to be read (a pipelined request) count as open.
    pub(crate) fn peer_closed(&self) -> bool {
        if self.tcp.set_nonblocking(true).is_err() {
            return true;
        }
        let mut probe = [0u8; 1];
        let closed = match self.tcp.peek(&mut probe) {
            Ok(0) => true,
            Ok(_) => false,
            Err(error) => error.kind() != io::ErrorKind::WouldBlock,
        };
        let _ = self.tcp.set_nonblocking(false);
        closed
    }

    #[cfg(feature = "tls")]
    fn read_tls(&self, buf: &mut [u8]) -> io::Result<usize> {
        // Small enough that the plaintext of one raw read never overflows rustls' buffer.
        let mut raw = [0u8; 8 * 1024];
        loop {
            {
                let mut side = self.lock();
                let Some(tls) = side.tls.as_mut() else {
                    return Err(io::Error::other("not a TLS connection"));
                };
                match tls.reader().read(buf) {
                    Ok(read) => return Ok(read),
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => return Err(error),
                }
            }
            // Block for ciphertext without the lock, so writers go on meanwhile.
            let read = (&*self.tcp).read(&mut raw)?;
            let mut side = self.lock();
            let Some(tls) = side.tls.as_mut() else {
                return Err(io::Error::other("not a TLS connection"));
            };
            let mut input = &raw[..read];
            loop {
                tls.read_tls(&mut input)?;
                tls.process_new_packets()
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
                if input.is_empty() {
                    break;
                }
            }
            while tls.wants_write() {
                tls.write_tls(&mut &*self.tcp)?;
            }
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(feature = "tls")]
        if self.tls {
            return self.read_tls(buf);
        }
        let _ = self.tls;
        (&*self.tcp).read(buf)
    }
}

impl Write for Conn {
    /// Writes the whole buffer under the lock (see [`Conn::send`]).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf, false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

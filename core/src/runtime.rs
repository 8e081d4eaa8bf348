//! The contract between the async `engineio` crate and a runtime: spawning, time, TCP.
//!
//! The protocol modules of this crate use none of this; it lives here so that each runtime
//! crate (`engineio-runtime-tokio`, `-smol`, `-async-std`) depends on `engineio-core` only, and
//! the `engineio` crate can be written once against these traits and depend on all of them.
//! The traits are object safe (`Arc<dyn Runtime>`), so public types carry no runtime generic,
//! and small, after quinn's runtime trait: a runtime crate is about a hundred lines.
//!
//! Streams speak `futures-io` (`AsyncRead` + `AsyncWrite`), the one I/O vocabulary that smol,
//! async-std and (through `tokio-util`'s compat layer) tokio all share, and that the WebSocket
//! and TLS crates (`async-tungstenite`, `futures-rustls`) accept.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// A boxed, sendable future, as the runtime traits pass them around.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An async runtime as the `engineio` crate needs it.
pub trait Runtime: Send + Sync + fmt::Debug + 'static {
    /// The current time. Runtimes with a virtual clock (tokio's paused test clock) return it.
    fn now(&self) -> Instant;

    /// Runs `future` to completion in the background.
    fn spawn(&self, future: BoxFuture<'static, ()>);

    /// Returns a timer that completes at `deadline` and can be moved with
    /// [`Timer::reset`].
    fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>>;

    /// Binds a TCP listener on `addr`.
    fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Listener>>;

    /// Turns an already bound standard listener into an async one (the caller keeps control of
    /// socket options).
    fn wrap_listener(&self, listener: std::net::TcpListener) -> io::Result<Box<dyn Listener>>;

    /// Opens a TCP connection to `host:port`, resolving the name without blocking the runtime.
    fn connect(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Stream>>>;
}

/// A resettable one-shot timer.
pub trait Timer: Send + Sync + fmt::Debug {
    /// Moves the deadline (earlier or later), re-arming a timer that already fired.
    fn reset(self: Pin<&mut Self>, deadline: Instant);

    /// Completes once the deadline has passed.
    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

/// A TCP listener.
pub trait Listener: Send + Sync + fmt::Debug {
    /// Accepts the next connection.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Box<dyn Stream>, SocketAddr)>>;

    /// The address the listener is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

/// A byte stream (a TCP connection, possibly wrapped in TLS by the caller).
pub trait Stream: futures_io::AsyncRead + futures_io::AsyncWrite + Send + Unpin + 'static {}

impl<T> Stream for T where T: futures_io::AsyncRead + futures_io::AsyncWrite + Send + Unpin + 'static
{}

impl fmt::Debug for dyn Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Stream")
    }
}

/// A future that completes when a [`Timer`] elapses; returned by [`sleep_until`].
#[derive(Debug)]
pub struct Sleep {
    timer: Pin<Box<dyn Timer>>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.timer.as_mut().poll_elapsed(cx)
    }
}

/// Sleeps on `runtime` until `deadline`.
pub fn sleep_until(runtime: &dyn Runtime, deadline: Instant) -> Sleep {
    Sleep {
        timer: runtime.timer(deadline),
    }
}

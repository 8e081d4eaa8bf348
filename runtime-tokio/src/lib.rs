//! The tokio runtime for Engine.IO: spawning, timers and TCP for the `engineio` crate.
//!
//! [`TokioRuntime`] implements [`engineio_core::runtime::Runtime`] on a tokio
//! [`Handle`]. Streams are tokio's `TcpStream` seen through
//! `tokio-util`'s compat layer as `futures-io` streams, which is what the runtime-neutral
//! `engineio` crate (hyper, async-tungstenite, futures-rustls) reads and writes.
//!
//! Time comes from `tokio::time::Instant`, so tokio's paused test clock drives Engine.IO
//! heartbeats too.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use engineio_core::runtime::Runtime;
//! use engineio_runtime_tokio::TokioRuntime;
//!
//! let runtime = TokioRuntime::current();
//! let listener = runtime.bind("127.0.0.1:0".parse().unwrap()).unwrap();
//! assert!(listener.local_addr().unwrap().port() > 0);
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use engineio_core::runtime::{BoxFuture, Listener, Runtime, Stream, Timer};
use tokio::runtime::Handle;
use tokio_util::compat::TokioAsyncReadCompatExt;

/// A tokio runtime, by handle.
#[derive(Debug, Clone)]
pub struct TokioRuntime {
    handle: Handle,
}

impl TokioRuntime {
    /// The runtime the calling task runs on.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime; use [`try_current`](Self::try_current) to check.
    pub fn current() -> Self {
        Self::try_current().expect("TokioRuntime::current called outside a tokio runtime")
    }

    /// The runtime the calling task runs on, or `None` outside a tokio runtime.
    pub fn try_current() -> Option<Self> {
        Handle::try_current().ok().map(Self::from_handle)
    }

    /// A runtime from an explicit handle (to spawn onto a runtime the caller is not in).
    pub fn from_handle(handle: Handle) -> Self {
        Self { handle }
    }
}

impl Runtime for TokioRuntime {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn spawn(&self, future: BoxFuture<'static, ()>) {
        self.handle.spawn(future);
    }

    fn timer(&self, deadline: Instant) -> Pin<Box<dyn Timer>> {
        let _context = self.handle.enter();
        Box::pin(TokioTimer {
            sleep: tokio::time::sleep_until(deadline.into()),
        })
    }

    fn bind(&self, addr: SocketAddr) -> io::Result<Box<dyn Listener>> {
        self.wrap_listener(std::net::TcpListener::bind(addr)?)
    }

    fn wrap_listener(&self, listener: std::net::TcpListener) -> io::Result<Box<dyn Listener>> {
        listener.set_nonblocking(true)?;
        let _context = self.handle.enter();
        Ok(Box::new(TokioListener(tokio::net::TcpListener::from_std(
            listener,
        )?)))
    }

    fn connect(&self, host: String, port: u16) -> BoxFuture<'static, io::Result<Box<dyn Stream>>> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            stream.set_nodelay(true)?;
            Ok(Box::new(stream.compat()) as Box<dyn Stream>)
        })
    }
}

pin_project_lite::pin_project! {
    /// A tokio `Sleep` as an Engine.IO [`Timer`].
    #[derive(Debug)]
    struct TokioTimer {
        #[pin]
        sleep: tokio::time::Sleep,
    }
}

impl Timer for TokioTimer {
    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.project().sleep.reset(deadline.into());
    }

    fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().sleep.poll(cx)
    }
}

#[derive(Debug)]
struct TokioListener(tokio::net::TcpListener);

impl Listener for TokioListener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(Box<dyn Stream>, SocketAddr)>> {
        self.0.poll_accept(cx).map(|accepted| {
            let (stream, peer) = accepted?;
            stream.set_nodelay(true)?;
            Ok((Box::new(stream.compat()) as Box<dyn Stream>, peer))
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use engineio_core::runtime::sleep_until;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn timers_follow_the_paused_clock() {
        let runtime = TokioRuntime::current();
        let start = runtime.now();
        sleep_until(&runtime, start + Duration::from_secs(3600)).await;
        assert!(runtime.now() >= start + Duration::from_secs(3600));
    }

    #[tokio::test]
    async fn accepts_and_connects() {
        let runtime = TokioRuntime::current();
        let listener = runtime.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connect = runtime.connect("127.0.0.1".into(), port);
        let (accepted, connected) = tokio::join!(poll_fn(|cx| listener.poll_accept(cx)), connect);
        assert!(accepted.is_ok() && connected.is_ok());
    }
}

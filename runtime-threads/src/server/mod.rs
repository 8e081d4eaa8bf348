//! The blocking Engine.IO server.
//!
//! A [`Server`] is a cheap handle (clone it freely) to one Engine.IO endpoint. Build it with
//! [`Server::builder`], give it handlers or take its sockets with
//! [`ServerBuilder::build_incoming`], and put it on the network with [`Server::serve`] or
//! [`Server::serve_listener`], which block the calling thread until [`Server::shutdown`].
//!
//! ```no_run
//! use engineio_runtime_threads::Server;
//!
//! let server = Server::builder()
//!     .on_message(|server, sid, message| {
//!         let _ = server.send(&sid, message); // echo
//!     })
//!     .build();
//! server.serve("127.0.0.1:5000").unwrap();
//! ```
//!
//! # Threads
//!
//! - **One engine thread** owns the sans-IO [`engineio_core::Server`]. It sleeps in
//!   `recv_timeout` until the next command or the core's next deadline. Every other thread
//!   talks to it through a channel.
//! - **The accept loop** runs on the thread that calls `serve`; it starts **one thread per
//!   connection** (at most `max_connections`, beyond which a connection gets `503`). A
//!   connection thread parses requests with `httparse`, enforces the head size and the read
//!   deadlines, and waits for the engine's answer; a long-poll GET waits there until the core
//!   has data or a ping. A polling session uses one or two connections (the held GET and a
//!   POST).
//! - **A WebSocket** keeps its connection thread as its reader and gets a **writer thread**
//!   (two threads per socket; see the [crate documentation](crate#websocket-on-threads)).
//! - **Handler threads** (the dispatcher, at most `handler_threads`, started on demand) run
//!   the application's handlers, one session's in order. No handler ever runs on the engine
//!   thread or under a lock, so handlers may call `send`, `disconnect`, … on the server they
//!   are given.
//!
//! Each API call ([`Server::send`], [`Server::disconnect`], …) is a round trip to the engine
//! thread, which answers at once (it never waits on anything but its channel).

mod builder;
mod dispatch;
mod engine;
mod handlers;
mod http;
mod incoming;
mod options;
mod response;
mod shared;
mod storage;
mod websocket;

use std::io;
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use engineio_core::{DisconnectReason, Message, SendError, Sid, Transport};

pub use builder::ServerBuilder;
pub use engineio_core::http::{
    ConnectRequest, Cookie, CorsOrigins, Forbidden, Rejection, SameSite, StaticFiles,
};
pub use incoming::{Incoming, Socket};
pub use storage::SessionGuard;

use shared::Shared;

/// A handle to a blocking Engine.IO server. Clones share the server.
#[derive(Clone)]
pub struct Server {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("path", &self.shared.options.http.path)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts configuring a server (the reference defaults otherwise).
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Queues a message (text, bytes, `String`, …) for a session. It goes out on the session's
    /// next poll or WebSocket write; `Err` if there is no such session, it is closing, or its
    /// buffer is full.
    pub fn send(&self, sid: &Sid, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        let sid = *sid;
        self.shared
            .call(move |core, now| core.send(now, &sid, message))
            .unwrap_or(Err(SendError::UnknownSession))
    }

    /// Sends `value` serialised as JSON in a text message.
    pub fn send_json<T: serde::Serialize + ?Sized>(
        &self,
        sid: &Sid,
        value: &T,
    ) -> Result<(), SendError> {
        let text = serde_json::to_string(value).map_err(|_| SendError::Closed)?;
        self.send(sid, text)
    }

    /// Closes a session; its disconnect handler runs with
    /// [`DisconnectReason::ServerDisconnect`] once the client has been told.
    pub fn disconnect(&self, sid: &Sid) -> Result<(), SendError> {
        let sid = *sid;
        self.shared
            .call(move |core, now| core.close(now, &sid))
            .unwrap_or(Err(SendError::UnknownSession))
    }

    /// Closes every session.
    pub fn disconnect_all(&self) {
        self.shared.call(|core, now| core.close_all(now));
    }

    /// Shuts down gracefully: refuses new handshakes (503), tells every client (`1`), waits up
    /// to `grace` for them to be told, ends whatever is left, and only then stops accepting
    /// connections (`serve` returns) and closes idle keep-alive connections. Sessions end with
    /// [`DisconnectReason::ServerShutdown`]; messages accepted before the call are delivered
    /// first. Connections are accepted and kept alive during the grace because a polling
    /// client between two requests comes back for its close packet.
    pub fn shutdown(&self, grace: Duration) {
        let shared = &self.shared;
        shared.call(|core, now| core.shutdown(now));
        if !shared.wait_idle(Instant::now() + grace) {
            shared.call(|core, now| {
                let sids: Vec<Sid> = core.sids().collect();
                for sid in sids {
                    let _ = core.abort(now, &sid, DisconnectReason::ServerShutdown);
                }
            });
        }
        shared.stopped.store(true, Ordering::Release);
        shared.wake_listeners();
        shared.close_idle_connections();
    }

    /// The session's current transport, or `None` if there is no such session.
    pub fn transport(&self, sid: &Sid) -> Option<Transport> {
        let sid = *sid;
        self.shared
            .call(move |core, _| core.transport(&sid))
            .flatten()
    }

    /// The ids of the connected sessions.
    pub fn sessions(&self) -> Vec<Sid> {
        self.shared
            .call(|core, _| core.sids().collect())
            .unwrap_or_default()
    }

    /// The number of live sessions.
    pub fn session_count(&self) -> usize {
        self.shared.live()
    }

    /// The request that opened a session (headers, query, remote address).
    ///
    /// The session keeps it packed; each call rebuilds it (a few small allocations), so keep
    /// the result rather than calling this per message.
    pub fn connect_request(&self, sid: &Sid) -> Option<Arc<ConnectRequest>> {
        self.shared
            .with_entry(sid, |entry| Arc::new(entry.info.to_request()))
    }

    /// Runs `task` on a new thread (python-engineio's `start_background_task`).
    pub fn start_background_task<F>(&self, task: F) -> std::thread::JoinHandle<()>
    where
        F: FnOnce() + Send + 'static,
    {
        std::thread::spawn(task)
    }

    /// Sleeps on the calling thread (python-engineio's `sleep`).
    pub fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    /// Binds `addr` and serves until [`shutdown`](Self::shutdown): the Engine.IO path, then
    /// the configured static files, then 404. Blocks the calling thread.
    pub fn serve(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.serve_listener(TcpListener::bind(addr)?)
    }

    /// Serves on a listener the caller bound (and may have configured), e.g. on port 0 to
    /// learn the port first; blocks until [`shutdown`](Self::shutdown).
    ///
    /// ```
    /// use std::net::TcpListener;
    /// use std::time::Duration;
    /// use engineio_runtime_threads::Server;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let port = listener.local_addr().unwrap().port();
    /// let server = Server::builder().build();
    /// let serving = std::thread::spawn({
    ///     let server = server.clone();
    ///     move || server.serve_listener(listener)
    /// });
    /// assert!(port > 0);
    /// server.shutdown(Duration::from_secs(1));
    /// serving.join().unwrap().unwrap();
    /// ```
    pub fn serve_listener(&self, listener: TcpListener) -> io::Result<()> {
        let shared = &self.shared;
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, path = %shared.options.http.path, "engine.io server listening");
            shared
                .listeners
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(addr);
        }
        loop {
            if shared.stopped.load(Ordering::Acquire) {
                return Ok(());
            }
            match listener.accept() {
                Ok((tcp, _)) => self.accept(tcp),
                Err(error) => {
                    // Out of descriptors and the like: log, pause, keep serving the sessions.
                    tracing::warn!(%error, "accept failed");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    fn accept(&self, tcp: TcpStream) {
        let shared = &self.shared;
        if shared.stopped.load(Ordering::Acquire) {
            return;
        }
        let Some(id) = shared.register_connection(&tcp) else {
            tracing::warn!("connection limit reached; refusing a connection");
            refuse(&tcp);
            return;
        };
        let connection = Arc::clone(shared);
        let started = std::thread::Builder::new()
            .name("engineio-conn".into())
            .spawn(move || {
                http::serve_connection(&connection, tcp, id);
                connection.unregister_connection(id);
            });
        if let Err(error) = started {
            tracing::error!(%error, "cannot start a connection thread");
            shared.unregister_connection(id);
        }
    }
}

/// Answers a connection over the limit with 503, without a thread.
fn refuse(tcp: &TcpStream) {
    use std::io::Write;
    let _ = tcp.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = (&*tcp).write_all(
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=UTF-8\r\n\
          content-length: 19\r\nretry-after: 1\r\nconnection: close\r\n\r\nService Unavailable",
    );
    let _ = tcp.shutdown(std::net::Shutdown::Write);
}

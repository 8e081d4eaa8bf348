//! The async Engine.IO server.
//!
//! A [`Server`] is a cheap handle (clone it freely) to one Engine.IO endpoint. Build it with
//! [`Server::builder`], give it handlers or take its sockets as a stream, and put it on the
//! network with [`Server::serve`] or mount [`Server::service_with`] in an axum or hyper app.
//!
//! ```no_run
//! use engineio::server::Server;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = Server::builder()
//!     .on_message(|server, sid, message| async move {
//!         let _ = server.send(&sid, message); // echo
//!     })
//!     .build();
//! server.serve("127.0.0.1:5000".parse().unwrap()).await
//! # }
//! ```
//!
//! Under the handle, the protocol is the sans-IO [`engineio_core::Server`]; this module adds
//! HTTP (hyper), WebSocket (async-tungstenite), CORS, cookies, compression, static files, and
//! the scheduling of application handlers.

mod builder;
mod drain_scope;
mod engine;
mod handlers;
mod http;
pub(crate) mod hyper_rt;
mod incoming;
mod mailbox;
mod notify;
mod options;
mod read_ahead;
mod service;
mod storage;
mod websocket;
mod ws_io;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use engineio_core::{DisconnectReason, Message, SendError, Sid, Transport};

pub use builder::ServerBuilder;
pub use engineio_core::http::{
    ConnectRequest, Cookie, CorsOrigins, Forbidden, Rejection, SameSite, StaticFiles,
};
pub use incoming::{Incoming, Socket};
pub use service::{EngineIoService, NotFound};
pub use storage::SessionGuard;

use engine::Shared;

/// A handle to an Engine.IO server. Clones share the server.
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
        self.shared
            .with_core(|core, now| core.send(now, sid, message))
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
        self.shared.with_core(|core, now| core.close(now, sid))
    }

    /// Closes every session.
    pub fn disconnect_all(&self) {
        self.shared.with_core(|core, now| core.close_all(now));
    }

    /// Shuts down gracefully: refuses new handshakes (503), tells every client (`1`), waits up
    /// to `grace` for them to be told and for the disconnect handlers, ends whatever is left,
    /// and only then stops accepting connections (`serve` returns). Sessions end with
    /// [`DisconnectReason::ServerShutdown`]; messages accepted before the call are delivered
    /// first. Connections are accepted during the grace because a polling client between two
    /// requests may come back on a new connection for its close packet.
    pub async fn shutdown(&self, grace: Duration) {
        let shared = &self.shared;
        shared.with_core(|core, now| core.shutdown(now));
        let deadline = shared.runtime.now() + grace;
        while shared.session_count() > 0 {
            let sleep = engineio_core::runtime::sleep_until(&*shared.runtime, deadline);
            let idle = std::pin::pin!(shared.idle.notified());
            if let futures_util::future::Either::Right(_) =
                futures_util::future::select(idle, sleep).await
            {
                shared.abort_all(DisconnectReason::ServerShutdown);
                break;
            }
        }
        shared.stopped.store(true, Ordering::Release);
        shared.stop_accepting.notify();
    }

    /// The session's current transport, or `None` if there is no such session.
    pub fn transport(&self, sid: &Sid) -> Option<Transport> {
        self.shared.with_core(|core, _| core.transport(sid))
    }

    /// The ids of the connected sessions.
    pub fn sessions(&self) -> Vec<Sid> {
        self.shared.with_core(|core, _| core.sids().collect())
    }

    /// The number of live sessions.
    pub fn session_count(&self) -> usize {
        self.shared.session_count()
    }

    /// The request that opened a session (headers, query, remote address).
    ///
    /// The session keeps it packed; each call rebuilds it (a few small allocations), so keep
    /// the result rather than calling this per message.
    pub fn connect_request(&self, sid: &Sid) -> Option<Arc<ConnectRequest>> {
        self.shared
            .with_entry(sid, |entry| Arc::new(entry.info.to_request()))
    }

    /// Runs `task` in the background on the server's runtime (python-engineio's
    /// `start_background_task`).
    pub fn start_background_task<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.shared.runtime.spawn(Box::pin(task));
    }

    /// Sleeps on the server's runtime (python-engineio's `sleep`).
    pub async fn sleep(&self, duration: Duration) {
        let deadline = self.shared.runtime.now() + duration;
        engineio_core::runtime::sleep_until(&*self.shared.runtime, deadline).await;
    }
}

#[cfg(all(test, feature = "tokio"))]
mod tests;

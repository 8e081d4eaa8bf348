//! [`ServerHandle`]: the calls a test makes to the server under test from outside, as an
//! application would (`send`, `session_count`, `shutdown`), from any thread.

use std::fmt;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use engineio::runtime::Runtime as RuntimeApi;
use engineio::server::Server;
use engineio::{Message, SendError, Sid};

use crate::Runtime;

/// A handle to the server under test, whatever runs it.
#[derive(Clone)]
pub(crate) enum Control {
    /// The async server, and the runtime it runs on (where `shutdown` must be awaited).
    Async {
        server: Server,
        runtime: Arc<dyn RuntimeApi>,
    },
    /// The blocking server.
    Threads(engineio::blocking::Server),
}

impl fmt::Debug for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Async { server, .. } => server.fmt(f),
            Self::Threads(server) => server.fmt(f),
        }
    }
}

/// A handle to an [`EchoServer`](crate::EchoServer)'s server, which any thread may use
/// (`Send + Sync`, cheap to clone): the calls a test makes from outside, as an application
/// would.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    runtime: Runtime,
    control: Control,
}

impl ServerHandle {
    /// The number of live sessions, as the server counts them (`Server::session_count`).
    pub fn session_count(&self) -> usize {
        match &self.control {
            Control::Async { server, .. } => server.session_count(),
            Control::Threads(server) => server.session_count(),
        }
    }

    /// Queues `message` for the session `sid` (`Server::send`), as a handler would.
    pub fn send(&self, sid: &str, message: impl Into<Message>) -> Result<(), SendError> {
        let sid = Sid::parse(sid).ok_or(SendError::UnknownSession)?;
        match &self.control {
            Control::Async { server, .. } => server.send(&sid, message),
            Control::Threads(server) => server.send(&sid, message),
        }
    }

    /// Shuts the server down gracefully (`Server::shutdown(grace)`, awaited on the server's
    /// runtime for the async server) and returns when it has returned; fails if it takes
    /// much longer than `grace`. The runtime keeps running (for the connections still being
    /// closed) until the `EchoServer` is dropped.
    pub fn shutdown(&self, grace: Duration) {
        let limit = grace + Duration::from_secs(10);
        let (tx, rx) = mpsc::sync_channel(1);
        match &self.control {
            Control::Async { server, runtime } => {
                let server = server.clone();
                runtime.spawn(Box::pin(async move {
                    server.shutdown(grace).await;
                    let _ = tx.send(());
                }));
            }
            Control::Threads(server) => {
                let server = server.clone();
                thread::spawn(move || {
                    server.shutdown(grace);
                    let _ = tx.send(());
                });
            }
        }
        if rx.recv_timeout(limit).is_err() {
            panic!(
                "our server on {}: shutdown({grace:?}) did not return within {limit:?}",
                self.runtime
            );
        }
    }
}

impl ServerHandle {
    pub(crate) fn new(runtime: Runtime, control: Control) -> Self {
        Self { runtime, control }
    }
}

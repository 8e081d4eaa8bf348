//! The blocking Engine.IO client.
//!
//! [`Client`] connects to an Engine.IO v4 server (the JavaScript `engine.io`,
//! python-engineio, or the servers of these crates) over HTTP long-polling, WebSocket, or
//! polling upgraded to WebSocket, with `https`/`wss` through rustls. It offers the reference
//! clients' API (python-engineio's `Client`: `connect`, handlers for connect, message and
//! disconnect, `send`, `disconnect`, `wait`, `sid`, `transport`) and a stream face
//! ([`Client::recv`]). Every call blocks the calling thread, and nothing here starts or needs
//! an async runtime.
//!
//! ```no_run
//! use engineio_runtime_threads::{Client, Message};
//!
//! // Handlers: called in order, one at a time, on the client's dispatcher thread.
//! let client = Client::builder()
//!     .on_message(|client: Client, message: Message| {
//!         println!("server says {message:?}");
//!         if message.as_text() == Some("bye") {
//!             client.disconnect();
//!         }
//!     })
//!     .connect("http://localhost:5000")?;
//! client.send("hello")?;
//! let reason = client.wait();
//! println!("disconnected: {reason}");
//!
//! // Or the stream face: no `on_message`, read messages with `recv`.
//! let client = Client::connect("ws://localhost:5000?token=secret")?;
//! client.send(vec![1u8, 2, 3])?; // binary
//! while let Some(message) = client.recv() {
//!     println!("{message:?}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Threads
//!
//! - One **engine** thread owns the sans-IO [`engineio_core::client::Client`] and waits with
//!   `recv_timeout` until its next deadline (see `engine.rs`).
//! - Polling: one **worker** thread per request kind (the GET, the POST), each with one
//!   keep-alive connection, started on first use.
//! - WebSocket: a **reader** and a **writer** thread per socket (see the
//!   [crate documentation](crate#websocket-on-threads)); during an upgrade the probe socket has
//!   its own pair.
//! - One **dispatcher** thread runs the handlers in order and fills the `recv` queue.
//!
//! [`Client::send`] is a round trip to the engine thread, so it reports the core's verdict
//! ([`SendError`]) at once; no lock is held while user code runs, so handlers may call any
//! method of the [`Client`] they are given, `send` and `disconnect` included.
//!
//! # Lifetime
//!
//! A connection lives until [`Client::disconnect`], until the server or the network ends it,
//! or until the last [`Client`] handle is dropped, which closes it gracefully. Reconnecting is
//! building a new client, as with the reference clients.

mod builder;
mod dispatch;
mod engine;
mod error;
mod net;
mod polling;
mod room;
mod tls;
mod websocket;

use std::fmt;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engineio_core::client::{Client as Core, ClientConfig};
use engineio_core::{DisconnectReason, Message, SendError, Transport};
use serde::Serialize;

pub use builder::ClientBuilder;
pub use error::{ConnectError, SendJsonError};
#[cfg(feature = "tls")]
pub use rustls_pki_types::CertificateDer;

use dispatch::Shared;
use engine::{Engine, Input};

/// A connection to an Engine.IO server: a cheap handle, cloned freely and shared between
/// threads.
///
/// Made by [`Client::connect`] or [`ClientBuilder::connect`]. The connection stays open while
/// any handle exists (or until it ends); dropping the last one closes it.
#[derive(Clone)]
#[must_use = "dropping the last Client handle closes the connection"]
pub struct Client {
    shared: Arc<Shared>,
    /// Keeps the connection open; `None` only in a handle given to a handler after every
    /// application handle was dropped.
    _alive: Option<Arc<Alive>>,
}

/// Dropped with the last handle: the engine then closes the connection.
struct Alive {
    inputs: Sender<Input>,
}

impl Drop for Alive {
    fn drop(&mut self) {
        let _ = self.inputs.send(Input::HandlesDropped);
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("sid", &self.shared.sid())
            .field("transport", &self.shared.transport())
            .finish_non_exhaustive()
    }
}

/// Starts the engine and the dispatcher, and waits for the handshake.
fn start(
    ctx: Arc<net::Context>,
    config: ClientConfig,
    handlers: dispatch::Handlers,
) -> Result<Client, ConnectError> {
    let core = Core::new(Instant::now(), config);
    let (input_sender, inputs) = mpsc::channel();
    let shared = Arc::new(Shared::new(input_sender.clone(), Arc::clone(&ctx.backlog)));
    let alive = Arc::new(Alive {
        inputs: input_sender.clone(),
    });
    let (jobs, job_receiver) = mpsc::channel();
    let (connecting, connected) = mpsc::sync_channel(1);
    let engine = Engine {
        core,
        ctx,
        shared: Arc::clone(&shared),
        inputs,
        input_sender,
        jobs,
        connecting: Some(connecting),
    };
    std::thread::Builder::new()
        .name("engineio-client".into())
        .spawn(move || engine.run())?;
    let dispatch_shared = Arc::clone(&shared);
    let weak = Arc::downgrade(&alive);
    std::thread::Builder::new()
        .name("engineio-client-dispatch".into())
        .spawn(move || dispatch::run(&dispatch_shared, &weak, &handlers, &job_receiver))?;
    let client = Client {
        shared,
        _alive: Some(alive),
    };
    match connected.recv() {
        Ok(Ok(())) => Ok(client),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ConnectError::Protocol(
            "the client's engine thread stopped".to_owned(),
        )),
    }
}

impl Client {
    /// Returns a [`ClientBuilder`] to set options and handlers before connecting.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Connects to `url` with the default options (both transports, upgrade on); see
    /// [`ClientBuilder::connect`].
    pub fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::builder().connect(url)
    }

    /// Returns the session id the server assigned (kept after the connection ends).
    pub fn sid(&self) -> Option<String> {
        self.shared.sid()
    }

    /// Returns the transport in use: [`Transport::Polling`], then [`Transport::WebSocket`]
    /// after an upgrade (the last one used, after the connection ends).
    pub fn transport(&self) -> Option<Transport> {
        self.shared.transport()
    }

    /// The messages read from the server that the application has not taken yet (handlers
    /// not run, or not yet on the `recv` queue), including a frame the WebSocket reader has
    /// reserved room for. At most [`max_pending_messages`](ClientBuilder::max_pending_messages) on WebSocket (plus one
    /// poll response on polling): at the bound the client stops reading.
    pub fn pending_messages(&self) -> usize {
        self.shared.backlog.pending()
    }

    /// Queues a message for the server: text from a `String` or `&'static str`, binary from
    /// a `Vec<u8>` or [`Bytes`](crate::Bytes). Returns once the core has queued it; the
    /// message goes out with the next POST or WebSocket batch.
    ///
    /// Fails with [`SendError::Closed`] once the connection is closing or closed,
    /// [`SendError::PayloadTooLarge`] for a message larger than the server's `maxPayload`, and
    /// [`SendError::BufferFull`] when the outgoing buffer is full (see
    /// [`ClientConfig::buffer`]).
    pub fn send(&self, message: impl Into<Message>) -> Result<(), SendError> {
        let (reply, verdict) = mpsc::sync_channel(1);
        self.shared
            .inputs
            .send(Input::Send(message.into(), reply))
            .map_err(|_| SendError::Closed)?;
        verdict.recv().unwrap_or(Err(SendError::Closed))
    }

    /// Sends `value` serialized as JSON, as a text message.
    pub fn send_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), SendJsonError> {
        let text = serde_json::to_string(value)?;
        Ok(self.send(text)?)
    }

    /// Receives the next message from the server: the stream face, for clients without an
    /// [`on_message`](ClientBuilder::on_message) handler (which takes them all).
    ///
    /// Messages wait here in arrival order (up to 1024 before delivery waits for a reader,
    /// none dropped; the heartbeat goes on meanwhile). Returns `None` once the connection has
    /// ended and every message has been received. With an `on_message` handler it only ever
    /// returns `None`, at the end; do not call it from inside a handler.
    pub fn recv(&self) -> Option<Message> {
        self.shared.recv(None).ok()
    }

    /// Like [`recv`](Self::recv), waiting at most `timeout`: `Err(Timeout)` when it passes,
    /// `Err(Disconnected)` once the connection has ended and every message was received.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message, RecvTimeoutError> {
        self.shared.recv(Some(timeout))
    }

    /// Closes the connection gracefully and returns once it is closed.
    ///
    /// What is queued goes out first, then the close packet: on polling in a last POST that
    /// the server answers, on WebSocket in a last batch, written before this returns (within
    /// [`request_timeout`](ClientBuilder::request_timeout)), so a program may exit right
    /// after. Outside a handler it also waits for `on_disconnect` to have run; inside one it
    /// returns as soon as the connection has ended. On a closed connection it only waits for
    /// the end.
    pub fn disconnect(&self) {
        let _ = self.shared.inputs.send(Input::Close);
        self.wait();
    }

    /// Returns when the connection ends, with the reason, after `on_disconnect` has run.
    ///
    /// Called from a handler it returns as soon as the connection has ended, since the
    /// handlers run one at a time.
    pub fn wait(&self) -> DisconnectReason {
        self.shared
            .wait(None)
            .unwrap_or(DisconnectReason::TransportClose)
    }

    /// Like [`wait`](Self::wait), waiting at most `timeout`; `None` if the connection is
    /// still open then.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<DisconnectReason> {
        self.shared.wait(Some(timeout))
    }
}
